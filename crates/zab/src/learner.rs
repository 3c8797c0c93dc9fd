//! Followers and observers (`Learner`, `Follower`, `Observer`): register with the elected leader,
//! sync (DIFF / TRUNC / SNAP, NEWLEADER, UPTODATE), then log, ack and apply what it broadcasts.

use crate::config::Config;
use crate::message::{Message, QuorumMessage, SessionTouch};
use crate::ready::{Event, Persist, Ready};
use crate::state::ZabState;
use crate::zxid::{Sid, Zxid};

/// Connection attempts before a learner gives up on the leader it elected and elects again
/// (Java's `Learner.connectToLeader`: five tries, within initLimit).
const LEADER_CONNECT_TRIES: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// The leader refused the connection; retry at `retry_at_ms`.
    Connecting { retry_at_ms: u64 },
    /// FOLLOWERINFO / OBSERVERINFO sent.
    WaitingForLeaderInfo,
    /// ACKEPOCH sent; waiting for DIFF / TRUNC / SNAP.
    WaitingForSync,
    /// Receiving the sync backlog.
    Syncing,
    /// UPTODATE received: serving.
    Broadcast,
}

/// Why following ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderLost(pub String);

type Outcome = Result<(), LeaderLost>;

/// A follower's or observer's volatile state.
#[derive(Debug)]
pub struct Learner {
    leader: Sid,
    observer: bool,
    stage: Stage,
    /// Connections tried so far (the first FOLLOWERINFO's included).
    connect_attempts: u32,
    started_ms: u64,
    last_heard_ms: u64,
    new_epoch: u32,
    newleader_seen: bool,
    /// Sync: everything up to here is in the leader's history and committed at UPTODATE.
    commit_point: Zxid,
    /// Sync proposals not committed by NEWLEADER and those logged after it: acked after
    /// UPTODATE, as Java does.
    to_ack: Vec<Zxid>,
    touches: Vec<SessionTouch>,
}

impl Learner {
    pub(crate) fn start(
        config: &Config,
        zab: &ZabState,
        now_ms: u64,
        leader: Sid,
        observer: bool,
        out: &mut Ready,
    ) -> Learner {
        let mut learner = Learner {
            leader,
            observer,
            stage: Stage::WaitingForLeaderInfo,
            connect_attempts: 1,
            started_ms: now_ms,
            last_heard_ms: now_ms,
            new_epoch: 0,
            newleader_seen: false,
            commit_point: zab.last_committed,
            to_ack: Vec::new(),
            touches: Vec::new(),
        };
        learner.register(config, zab, out);
        learner
    }

    /// The leader this learner follows.
    pub fn leader(&self) -> Sid {
        self.leader
    }

    /// True once UPTODATE arrived.
    pub fn is_serving(&self) -> bool {
        self.stage == Stage::Broadcast
    }

    fn register(&mut self, config: &Config, zab: &ZabState, out: &mut Ready) {
        let (sid, protocol_version, config_version) =
            (config.my_id as i64, jute::quorum::ZAB_PROTOCOL_VERSION, 0);
        let accepted_epoch = zab.accepted_epoch;
        let message = if self.observer {
            QuorumMessage::ObserverInfo { accepted_epoch, sid, protocol_version, config_version }
        } else {
            QuorumMessage::FollowerInfo { accepted_epoch, sid, protocol_version, config_version }
        };
        self.stage = Stage::WaitingForLeaderInfo;
        out.send(self.leader, Message::Quorum(message));
    }

    /// The earliest time `tick` has work to do.
    pub fn deadline_ms(&self, config: &Config) -> u64 {
        match self.stage {
            Stage::Connecting { retry_at_ms } => retry_at_ms.min(self.started_ms + config.init_ms()),
            _ => self.last_heard_ms + self.read_timeout_ms(config),
        }
    }

    fn read_timeout_ms(&self, config: &Config) -> u64 {
        if self.newleader_seen {
            config.sync_ms()
        } else {
            config.init_ms()
        }
    }

    /// Time: retry a refused connection; give up on a silent leader (initLimit before
    /// NEWLEADER, syncLimit after, as the socket timeouts do in Java).
    pub(crate) fn tick(&mut self, config: &Config, zab: &ZabState, now_ms: u64, out: &mut Ready) -> Outcome {
        match self.stage {
            Stage::Connecting { retry_at_ms } => {
                if now_ms >= self.started_ms + config.init_ms() {
                    return Err(LeaderLost("could not connect to the leader".into()));
                }
                if now_ms >= retry_at_ms {
                    self.last_heard_ms = now_ms;
                    self.connect_attempts += 1;
                    self.register(config, zab, out);
                }
                Ok(())
            }
            _ if now_ms >= self.last_heard_ms + self.read_timeout_ms(config) => {
                Err(LeaderLost("read timeout from the leader".into()))
            }
            _ => Ok(()),
        }
    }

    /// The quorum connection to the leader broke.
    pub(crate) fn disconnected(&mut self, config: &Config, now_ms: u64) -> Outcome {
        if self.stage == Stage::WaitingForLeaderInfo {
            // Connection refused or dropped before the leader answered: Java retries connecting,
            // a few times.
            if self.connect_attempts >= LEADER_CONNECT_TRIES {
                return Err(LeaderLost(format!(
                    "could not connect to the leader in {} attempts",
                    self.connect_attempts
                )));
            }
            self.stage = Stage::Connecting { retry_at_ms: now_ms + config.connect_retry_ms };
            return Ok(());
        }
        Err(LeaderLost("connection to the leader closed".into()))
    }

    /// Remember a session touched on this learner; reported in the next PING reply.
    pub(crate) fn touch(&mut self, touch: SessionTouch) {
        if let Some(existing) = self.touches.iter_mut().find(|t| t.session_id == touch.session_id) {
            *existing = touch;
        } else {
            self.touches.push(touch);
        }
    }

    fn protocol_error(&self, message: &QuorumMessage, out: &mut Ready) -> Outcome {
        let reason = format!("unexpected {} from the leader in {:?}", message.name(), self.stage);
        out.events.push(Event::ProtocolError { peer: self.leader, reason: reason.clone() });
        Err(LeaderLost(reason))
    }

    /// A quorum packet from the leader.
    pub(crate) fn step(
        &mut self,
        _config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        message: QuorumMessage,
        out: &mut Ready,
    ) -> Outcome {
        self.last_heard_ms = now_ms;
        let leader = self.leader;
        match (self.stage, message) {
            (Stage::WaitingForLeaderInfo, QuorumMessage::LeaderInfo { new_epoch, .. }) => {
                let current_epoch = if new_epoch > zab.accepted_epoch {
                    let current = zab.current_epoch as i32;
                    zab.accepted_epoch = new_epoch;
                    out.persist.push(Persist::AcceptedEpoch(new_epoch));
                    current
                } else if new_epoch == zab.accepted_epoch {
                    // Already acked an epoch equal to the leader's: cannot ack again in good conscience.
                    -1
                } else {
                    return Err(LeaderLost(format!(
                        "leader's epoch {new_epoch} is below our accepted epoch {}",
                        zab.accepted_epoch
                    )));
                };
                self.new_epoch = new_epoch;
                self.stage = Stage::WaitingForSync;
                let last_zxid = zab.history.last_zxid();
                out.send(leader, Message::Quorum(QuorumMessage::AckEpoch { last_zxid, current_epoch }));
                Ok(())
            }
            (Stage::WaitingForSync, QuorumMessage::Diff { zxid }) => {
                self.commit_point = zxid.min(zab.history.last_zxid()).max(zab.last_committed);
                self.stage = Stage::Syncing;
                Ok(())
            }
            (Stage::WaitingForSync, QuorumMessage::Trunc { zxid }) => {
                assert!(
                    zxid >= zab.last_committed,
                    "TRUNC to {zxid:?} would drop committed txns up to {:?}",
                    zab.last_committed
                );
                zab.history.truncate(zxid);
                out.persist.push(Persist::Truncate(zxid));
                self.commit_point = zxid.min(zab.history.last_zxid());
                self.stage = Stage::Syncing;
                Ok(())
            }
            (Stage::WaitingForSync, QuorumMessage::Snap { zxid, snapshot }) => {
                zab.history.reset(zxid);
                zab.last_committed = zxid;
                out.persist.push(Persist::InstallSnapshot { zxid, snapshot });
                self.commit_point = zxid;
                self.stage = Stage::Syncing;
                Ok(())
            }
            (Stage::Syncing, QuorumMessage::Proposal { txn }) if !self.observer || !self.newleader_seen => {
                if txn.zxid <= zab.history.last_zxid() {
                    let message = QuorumMessage::Proposal { txn };
                    return self.protocol_error(&message, out);
                }
                zab.history.append(txn.clone());
                out.persist.push(Persist::Append(txn.clone()));
                if !self.observer {
                    self.to_ack.push(txn.zxid);
                }
                Ok(())
            }
            (Stage::Syncing, QuorumMessage::Commit { zxid }) => {
                if zab.history.get(zxid).is_none() {
                    return self.protocol_error(&QuorumMessage::Commit { zxid }, out);
                }
                self.commit_point = self.commit_point.max(zxid);
                Ok(())
            }
            (Stage::Syncing, QuorumMessage::Inform { txn }) => {
                if txn.zxid <= zab.history.last_zxid() {
                    return self.protocol_error(&QuorumMessage::Inform { txn }, out);
                }
                zab.history.append(txn.clone());
                out.persist.push(Persist::Append(txn.clone()));
                self.commit_point = txn.zxid;
                Ok(())
            }
            (Stage::Syncing, QuorumMessage::NewLeader { zxid, config: _ }) if !self.newleader_seen => {
                if zxid.epoch() != self.new_epoch {
                    return self
                        .protocol_error(&QuorumMessage::NewLeader { zxid, config: Default::default() }, out);
                }
                // Everything received so far is in the batch's persists; then currentEpoch; the
                // ACK leaves only once both are durable.
                // Java logs the proposals not committed yet (packetsNotCommitted) here and acks
                // them after UPTODATE; the ones already committed need no ack.
                let commit_point = self.commit_point;
                self.to_ack.retain(|&zxid| zxid > commit_point);
                zab.current_epoch = self.new_epoch;
                out.persist.push(Persist::CurrentEpoch(self.new_epoch));
                self.newleader_seen = true;
                out.send(leader, Message::Quorum(QuorumMessage::Ack { zxid }));
                Ok(())
            }
            (Stage::Syncing, QuorumMessage::UpToDate) if self.newleader_seen => {
                assert!(self.commit_point <= zab.history.last_zxid(), "commit point beyond the history");
                out.apply.extend(zab.history.range(zab.last_committed, self.commit_point).iter().cloned());
                zab.last_committed = zab.last_committed.max(self.commit_point);
                self.stage = Stage::Broadcast;
                out.send(leader, Message::Quorum(QuorumMessage::Ack { zxid: Zxid::new(self.new_epoch, 0) }));
                for zxid in std::mem::take(&mut self.to_ack) {
                    out.send(leader, Message::Quorum(QuorumMessage::Ack { zxid }));
                }
                out.events.push(Event::Serving(true));
                Ok(())
            }
            (Stage::Syncing | Stage::Broadcast, QuorumMessage::Ping { zxid }) => {
                let touches = std::mem::take(&mut self.touches);
                out.send(leader, Message::Quorum(QuorumMessage::PingReply { zxid, touches }));
                Ok(())
            }
            (Stage::Broadcast, QuorumMessage::Proposal { txn }) if !self.observer => {
                if txn.zxid <= zab.history.last_zxid() {
                    return self.protocol_error(&QuorumMessage::Proposal { txn }, out);
                }
                let zxid = txn.zxid;
                zab.history.append(txn.clone());
                out.persist.push(Persist::Append(txn));
                out.send(leader, Message::Quorum(QuorumMessage::Ack { zxid }));
                Ok(())
            }
            (Stage::Broadcast, QuorumMessage::Commit { zxid }) if !self.observer => {
                // FollowerZooKeeperServer.commit: the commit must name the first pending txn.
                match zab.history.next_after(zab.last_committed) {
                    Some(txn) if txn.zxid == zxid => {
                        out.apply.push(txn.clone());
                        zab.last_committed = zxid;
                        Ok(())
                    }
                    _ => self.protocol_error(&QuorumMessage::Commit { zxid }, out),
                }
            }
            (Stage::Broadcast, QuorumMessage::Inform { txn }) if self.observer => {
                if txn.zxid <= zab.history.last_zxid() || zab.last_committed != zab.history.last_zxid() {
                    return self.protocol_error(&QuorumMessage::Inform { txn }, out);
                }
                zab.history.append(txn.clone());
                out.persist.push(Persist::Append(txn.clone()));
                zab.last_committed = txn.zxid;
                out.apply.push(txn);
                Ok(())
            }
            (Stage::Broadcast, QuorumMessage::Sync { zxid }) => {
                out.events.push(Event::SyncDone { zxid });
                Ok(())
            }
            (Stage::Broadcast, QuorumMessage::RevalidateReply { session_id, valid }) => {
                out.events.push(Event::Revalidated { session_id, valid });
                Ok(())
            }
            (_, message) => self.protocol_error(&message, out),
        }
    }
}
