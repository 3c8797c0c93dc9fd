//! The leader: discovery (FOLLOWERINFO → LEADERINFO → ACKEPOCH), synchronization (DIFF / TRUNC /
//! SNAP, NEWLEADER, UPTODATE) and broadcast (PROPOSAL → ACK quorum → COMMIT / INFORM, PING),
//! as `Leader.lead` and one `LearnerHandler` per learner do it.

use crate::config::Config;
use crate::message::{Message, QuorumMessage};
use crate::ready::{Event, Ready};
use crate::state::ZabState;
use crate::sync::{choose_sync, LeaderLogs, SyncPacket};
use crate::zxid::{Sid, Txn, Zxid};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where the leader is in Zab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderPhase {
    /// Waiting for a quorum of FOLLOWERINFO (the epoch), then of ACKEPOCH.
    Discovery,
    /// Syncing learners, waiting for a quorum to ack NEWLEADER.
    Synchronization,
    /// Established: proposing and committing.
    Broadcast,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// FOLLOWERINFO received; the epoch is not decided yet.
    WaitingForEpoch,
    /// LEADERINFO sent.
    WaitingForAckEpoch,
    /// ACKEPOCH received; a quorum of them is not there yet.
    WaitingForEpochQuorum,
    /// Synced and NEWLEADER sent.
    WaitingForNewLeaderAck,
    /// NEWLEADER acked; waiting for the quorum.
    WaitingForEstablishment,
    /// UPTODATE sent.
    Serving,
}

#[derive(Debug)]
struct LearnerHandler {
    observer: bool,
    stage: Stage,
    tick_of_next_ack_deadline: u64,
    forwarding: bool,
    /// Proposals sent and not acked yet, with the time they left (syncLimitCheck).
    unacked: VecDeque<(Zxid, u64)>,
}

/// Why leadership ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Abdication(pub String);

/// A leading server's volatile state.
#[derive(Debug)]
pub struct Leader {
    phase: LeaderPhase,
    phase_deadline_ms: u64,
    /// The epoch being proposed (`getEpochToPropose`), `None` until a quorum reported.
    epoch: Option<u32>,
    epoch_candidate: i64,
    connecting: BTreeSet<Sid>,
    electing: BTreeSet<Sid>,
    newleader_acks: BTreeSet<Sid>,
    summary: (u32, Zxid),
    handlers: BTreeMap<Sid, LearnerHandler>,
    outstanding: BTreeMap<Zxid, BTreeSet<Sid>>,
    last_proposed: Zxid,
    tick: u64,
    tick_skip: bool,
    next_half_tick_ms: u64,
    pending_syncs: BTreeMap<Zxid, Vec<Sid>>,
    /// Each learner's last logged zxid, from its ACKEPOCH.
    peer_last: BTreeMap<Sid, Zxid>,
}

type Outcome = Result<(), Abdication>;

impl Leader {
    /// `Leader.lead` up to the point where it waits for learners.
    pub(crate) fn start(
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        out: &mut Ready,
    ) -> (Leader, Outcome) {
        let mut leader = Leader {
            phase: LeaderPhase::Discovery,
            phase_deadline_ms: now_ms + config.init_ms(),
            epoch: None,
            epoch_candidate: -1,
            connecting: BTreeSet::new(),
            electing: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            summary: (zab.current_epoch, zab.history.last_zxid()),
            handlers: BTreeMap::new(),
            outstanding: BTreeMap::new(),
            last_proposed: zab.history.last_zxid(),
            tick: 0,
            tick_skip: true,
            next_half_tick_ms: now_ms,
            pending_syncs: BTreeMap::new(),
            peer_last: BTreeMap::new(),
        };
        let outcome = leader.learner_epoch(config, zab, now_ms, config.my_id, zab.accepted_epoch, false, out);
        (leader, outcome)
    }

    /// The phase.
    pub fn phase(&self) -> LeaderPhase {
        self.phase
    }

    /// The epoch this leader leads, once decided.
    pub fn epoch(&self) -> Option<u32> {
        self.epoch
    }

    /// The learners connected now.
    pub fn learners(&self) -> impl Iterator<Item = Sid> + '_ {
        self.handlers.keys().copied()
    }

    /// The voters whose handler is serving (synced, UPTODATE sent).
    pub fn synced_followers(&self, config: &Config) -> usize {
        self.handlers
            .iter()
            .filter(|(&sid, handler)| handler.stage == Stage::Serving && config.quorum.is_voter(sid))
            .count()
    }

    /// The earliest time `tick` has work to do.
    pub fn deadline_ms(&self) -> u64 {
        match self.phase {
            LeaderPhase::Broadcast => self.next_half_tick_ms,
            _ => self.phase_deadline_ms,
        }
    }

    /// `getEpochToPropose` for one learner (or the leader itself).
    #[allow(clippy::too_many_arguments)]
    fn learner_epoch(
        &mut self,
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        sid: Sid,
        accepted_epoch: u32,
        observer: bool,
        out: &mut Ready,
    ) -> Outcome {
        if self.epoch.is_some() {
            return Ok(());
        }
        if i64::from(accepted_epoch) >= self.epoch_candidate {
            self.epoch_candidate = i64::from(accepted_epoch) + 1;
        }
        if !observer && config.quorum.is_voter(sid) {
            self.connecting.insert(sid);
        }
        if self.connecting.contains(&config.my_id) && config.quorum.contains_quorum(&self.connecting) {
            let epoch =
                u32::try_from(self.epoch_candidate).map_err(|_| Abdication("epoch overflow".into()))?;
            self.epoch = Some(epoch);
            zab.accepted_epoch = epoch;
            out.persist.push(crate::Persist::AcceptedEpoch(epoch));
            self.last_proposed = Zxid::new(epoch, 0);
            self.phase_deadline_ms = now_ms + config.init_ms();
            let waiting: Vec<Sid> = self
                .handlers
                .iter()
                .filter(|(_, h)| h.stage == Stage::WaitingForEpoch)
                .map(|(&s, _)| s)
                .collect();
            for learner in waiting {
                self.send_leader_info(learner, epoch, out);
            }
            // waitForEpochAck(self): the leader's own ACKEPOCH.
            return self.epoch_ack(config, zab, now_ms, config.my_id, out);
        }
        Ok(())
    }

    fn send_leader_info(&mut self, learner: Sid, epoch: u32, out: &mut Ready) {
        let handler = self.handlers.get_mut(&learner).expect("handler");
        handler.stage = Stage::WaitingForAckEpoch;
        let message = QuorumMessage::LeaderInfo {
            new_epoch: epoch,
            protocol_version: jute::quorum::ZAB_PROTOCOL_VERSION,
        };
        out.send(learner, Message::Quorum(message));
    }

    /// `waitForEpochAck`: once a quorum (the leader included) acked the epoch, the leader writes
    /// currentEpoch and syncs everyone who acked.
    fn epoch_ack(
        &mut self,
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        sid: Sid,
        out: &mut Ready,
    ) -> Outcome {
        if self.phase != LeaderPhase::Discovery {
            return Ok(());
        }
        if config.quorum.is_voter(sid) {
            self.electing.insert(sid);
        }
        if !(self.electing.contains(&config.my_id) && config.quorum.contains_quorum(&self.electing)) {
            return Ok(());
        }
        let epoch = self.epoch.expect("epoch decided before it is acked");
        self.phase = LeaderPhase::Synchronization;
        self.phase_deadline_ms = now_ms + config.init_ms();
        zab.current_epoch = epoch;
        out.persist.push(crate::Persist::CurrentEpoch(epoch));
        let waiting: Vec<Sid> = self
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == Stage::WaitingForEpochQuorum)
            .map(|(&s, _)| s)
            .collect();
        for learner in waiting {
            self.sync_learner(config, zab, now_ms, learner, out);
        }
        self.newleader_ack(config, zab, now_ms, config.my_id, out)
    }

    /// The zxid the data tree has processed and the committed log, as Java's leader sees them:
    /// before it is established, its whole history (loaded at startup) counts as processed.
    fn logs<'a>(&self, config: &Config, zab: &'a ZabState) -> (Zxid, &'a [Txn]) {
        let processed =
            if self.phase == LeaderPhase::Broadcast { zab.last_committed } else { zab.history.last_zxid() };
        let upto = zab.history.range(zab.history.base(), processed);
        let window_start = upto.len().saturating_sub(config.commit_log_count);
        (processed, &upto[window_start..])
    }

    /// `syncFollower` + `startForwarding` + NEWLEADER for one learner whose ACKEPOCH said
    /// `peer_last_zxid`.
    fn sync_learner(&mut self, config: &Config, zab: &ZabState, now_ms: u64, learner: Sid, out: &mut Ready) {
        let epoch = self.epoch.expect("sync after the epoch is decided");
        let peer_last_zxid = self.peer_last.remove(&learner).unwrap_or(Zxid(-1));
        let (processed, committed_log) = self.logs(config, zab);
        let txn_log = config.txn_log_sync.then(|| zab.history.range(zab.history.base(), processed));
        let plan =
            choose_sync(LeaderLogs { committed_log, last_processed: processed, txn_log }, peer_last_zxid);
        let observer = self.handlers[&learner].observer;
        let mut messages = Vec::new();
        if plan.snap {
            // The data tree is at lastCommitted; what the history holds beyond it (before this
            // leader is established) follows as committed proposals, as toBeApplied would.
            messages.push(QuorumMessage::Snap { zxid: zab.last_committed, snapshot: Bytes::new() });
            for txn in zab.history.range(zab.last_committed, processed) {
                messages.push(QuorumMessage::Proposal { txn: txn.clone() });
                messages.push(QuorumMessage::Commit { zxid: txn.zxid });
            }
        } else {
            for packet in plan.packets {
                match packet {
                    SyncPacket::Diff(zxid) => messages.push(QuorumMessage::Diff { zxid }),
                    SyncPacket::Trunc(zxid) => messages.push(QuorumMessage::Trunc { zxid }),
                    SyncPacket::ProposalAndCommit(txn) => {
                        let zxid = txn.zxid;
                        messages.push(QuorumMessage::Proposal { txn });
                        messages.push(QuorumMessage::Commit { zxid });
                    }
                }
            }
        }
        let current_zxid = if plan.snap { processed } else { plan.current_zxid };
        let handler = self.handlers.get_mut(&learner).expect("handler");
        // startForwarding: outstanding proposals above what the learner will have (participants).
        if !observer {
            for (&zxid, _) in self.outstanding.range(Zxid(current_zxid.0.saturating_add(1))..) {
                let txn = zab.history.get(zxid).expect("outstanding proposal in history").clone();
                messages.push(QuorumMessage::Proposal { txn });
                handler.unacked.push_back((zxid, now_ms));
            }
        }
        handler.forwarding = true;
        handler.stage = Stage::WaitingForNewLeaderAck;
        messages
            .push(QuorumMessage::NewLeader { zxid: Zxid::new(epoch, 0), config: config.config_text.clone() });
        for message in messages {
            out.send(learner, Message::Quorum(message));
        }
    }

    /// `waitForNewLeaderAck`: a quorum acked NEWLEADER → established.
    fn newleader_ack(
        &mut self,
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        sid: Sid,
        out: &mut Ready,
    ) -> Outcome {
        if config.quorum.is_voter(sid) {
            self.newleader_acks.insert(sid);
        }
        if self.phase == LeaderPhase::Synchronization
            && self.newleader_acks.contains(&config.my_id)
            && config.quorum.contains_quorum(&self.newleader_acks)
        {
            self.establish(config, zab, now_ms, out);
        }
        Ok(())
    }

    fn establish(&mut self, config: &Config, zab: &mut ZabState, now_ms: u64, out: &mut Ready) {
        let epoch = self.epoch.expect("established epoch");
        self.phase = LeaderPhase::Broadcast;
        // The whole history is committed in the new epoch.
        let last = zab.history.last_zxid();
        out.apply.extend(zab.history.range(zab.last_committed, last).iter().cloned());
        zab.last_committed = last;
        self.tick = 0;
        self.tick_skip = true;
        self.next_half_tick_ms = now_ms + config.tick_ms / 2;
        out.events.push(Event::Established { epoch });
        out.events.push(Event::Serving(true));
        let waiting: Vec<Sid> = self
            .handlers
            .iter()
            .filter(|(_, h)| h.stage == Stage::WaitingForEstablishment)
            .map(|(&s, _)| s)
            .collect();
        for learner in waiting {
            self.send_up_to_date(config, learner, out);
        }
    }

    fn send_up_to_date(&mut self, config: &Config, learner: Sid, out: &mut Ready) {
        let handler = self.handlers.get_mut(&learner).expect("handler");
        handler.stage = Stage::Serving;
        handler.tick_of_next_ack_deadline = self.tick + config.sync_limit;
        out.send(learner, Message::Quorum(QuorumMessage::UpToDate));
    }

    fn drop_learner(&mut self, learner: Sid, out: &mut Ready, reason: Option<String>) {
        if self.handlers.remove(&learner).is_some() {
            if let Some(reason) = reason {
                out.events.push(Event::ProtocolError { peer: learner, reason });
            }
            out.events.push(Event::CloseConnection(learner));
        }
    }

    /// A quorum packet from a learner.
    pub(crate) fn step(
        &mut self,
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        from: Sid,
        message: QuorumMessage,
        out: &mut Ready,
    ) -> Outcome {
        match message {
            QuorumMessage::FollowerInfo { accepted_epoch, .. }
            | QuorumMessage::ObserverInfo { accepted_epoch, .. } => {
                let observer =
                    matches!(message, QuorumMessage::ObserverInfo { .. }) || !config.quorum.is_voter(from);
                // A new connection from the same learner replaces the old handler.
                self.handlers.insert(
                    from,
                    LearnerHandler {
                        observer,
                        stage: Stage::WaitingForEpoch,
                        tick_of_next_ack_deadline: self.tick + config.init_limit + config.sync_limit,
                        forwarding: false,
                        unacked: VecDeque::new(),
                    },
                );
                match self.epoch {
                    Some(epoch) if accepted_epoch > epoch && !observer => {
                        // The learner promised a later epoch and will refuse ours (Java's learner
                        // throws and elects again, forever, while this leader keeps its quorum).
                        // Not Java: step down so that the next election proposes a higher epoch.
                        Err(Abdication(format!("learner {from} accepted epoch {accepted_epoch} > {epoch}")))
                    }
                    Some(epoch) => {
                        self.send_leader_info(from, epoch, out);
                        Ok(())
                    }
                    None => self.learner_epoch(config, zab, now_ms, from, accepted_epoch, observer, out),
                }
            }
            other => {
                let Some(handler) = self.handlers.get_mut(&from) else {
                    out.events.push(Event::CloseConnection(from));
                    return Ok(());
                };
                if handler.stage == Stage::Serving {
                    handler.tick_of_next_ack_deadline = self.tick + config.sync_limit;
                }
                let stage = handler.stage;
                let observer = handler.observer;
                match (stage, other) {
                    (Stage::WaitingForAckEpoch, QuorumMessage::AckEpoch { last_zxid, current_epoch }) => {
                        self.peer_last.insert(from, last_zxid);
                        if self.phase != LeaderPhase::Discovery {
                            self.sync_learner(config, zab, now_ms, from, out);
                            return Ok(());
                        }
                        if current_epoch != -1 {
                            let ahead =
                                (current_epoch as i64, last_zxid) > (self.summary.0 as i64, self.summary.1);
                            if ahead {
                                self.drop_learner(from, out, Some("follower is ahead of the leader".into()));
                                return Ok(());
                            }
                        }
                        self.handlers.get_mut(&from).expect("handler").stage = Stage::WaitingForEpochQuorum;
                        if current_epoch != -1 && !observer {
                            self.epoch_ack(config, zab, now_ms, from, out)
                        } else {
                            Ok(())
                        }
                    }
                    (Stage::WaitingForNewLeaderAck, QuorumMessage::Ack { zxid }) => {
                        let expected = Zxid::new(self.epoch.expect("epoch"), 0);
                        if zxid != expected {
                            self.drop_learner(from, out, Some(format!("NEWLEADER acked with {zxid:?}")));
                            return Ok(());
                        }
                        self.handlers.get_mut(&from).expect("handler").stage = Stage::WaitingForEstablishment;
                        if self.phase == LeaderPhase::Broadcast {
                            self.send_up_to_date(config, from, out);
                            Ok(())
                        } else if observer {
                            Ok(())
                        } else {
                            self.newleader_ack(config, zab, now_ms, from, out)
                        }
                    }
                    (Stage::WaitingForEstablishment | Stage::Serving, QuorumMessage::Ack { zxid }) => {
                        let handler = self.handlers.get_mut(&from).expect("handler");
                        while handler.unacked.front().is_some_and(|&(z, _)| z <= zxid) {
                            handler.unacked.pop_front();
                        }
                        if !observer {
                            self.process_ack(config, zab, from, zxid, out);
                        }
                        Ok(())
                    }
                    (Stage::Serving, QuorumMessage::PingReply { touches, .. }) => {
                        if !touches.is_empty() {
                            out.events.push(Event::SessionTouches { from, touches });
                        }
                        Ok(())
                    }
                    (Stage::WaitingForEstablishment, QuorumMessage::PingReply { .. }) => Ok(()),
                    (
                        Stage::Serving,
                        QuorumMessage::Request { session_id, cxid, op_type, request, authinfo },
                    ) => {
                        out.events.push(Event::Request {
                            from,
                            session_id,
                            cxid,
                            op_type,
                            request,
                            authinfo,
                        });
                        Ok(())
                    }
                    (Stage::Serving, QuorumMessage::Revalidate { session_id, timeout_ms }) => {
                        out.events.push(Event::Revalidate { from, session_id, timeout_ms });
                        Ok(())
                    }
                    (_, message) => {
                        let reason = format!("unexpected {} from learner in {stage:?}", message.name());
                        self.drop_learner(from, out, Some(reason));
                        Ok(())
                    }
                }
            }
        }
    }

    /// `processAck` + `tryToCommit`: commit strictly in zxid order once a quorum acked.
    fn process_ack(&mut self, config: &Config, zab: &mut ZabState, from: Sid, zxid: Zxid, out: &mut Ready) {
        if zxid.counter() == 0 || self.outstanding.is_empty() || zab.last_committed >= zxid {
            return;
        }
        let Some(acks) = self.outstanding.get_mut(&zxid) else {
            return;
        };
        acks.insert(from);
        self.try_commit_from(config, zab, zxid, out);
    }

    fn try_commit_from(&mut self, config: &Config, zab: &mut ZabState, mut zxid: Zxid, out: &mut Ready) {
        loop {
            if self.outstanding.contains_key(&Zxid(zxid.0 - 1)) {
                return;
            }
            let Some(acks) = self.outstanding.get(&zxid) else {
                return;
            };
            if !config.quorum.contains_quorum(acks) {
                return;
            }
            self.outstanding.remove(&zxid);
            self.commit(zab, zxid, out);
            zxid = Zxid(zxid.0 + 1);
        }
    }

    fn commit(&mut self, zab: &mut ZabState, zxid: Zxid, out: &mut Ready) {
        assert!(zxid > zab.last_committed, "commit {zxid:?} after {:?}", zab.last_committed);
        let txn = zab.history.get(zxid).expect("committed txn in history").clone();
        assert_eq!(zab.history.range(zab.last_committed, zxid).len(), 1, "commit skips a txn");
        zab.last_committed = zxid;
        for (&learner, handler) in &self.handlers {
            if !handler.forwarding {
                continue;
            }
            let message = if handler.observer {
                QuorumMessage::Inform { txn: txn.clone() }
            } else {
                QuorumMessage::Commit { zxid }
            };
            out.send(learner, Message::Quorum(message));
        }
        out.apply.push(txn);
        if let Some(learners) = self.pending_syncs.remove(&zxid) {
            for learner in learners {
                out.send(learner, Message::Quorum(QuorumMessage::Sync { zxid: Zxid::ZERO }));
            }
        }
    }

    /// Propose a txn. The PROPOSALs leave at once (early) while the leader logs it; the leader's
    /// own ack is counted now, which is sound because a commit it enables is carried out only
    /// after this batch's persist (batches complete in order). Fails when not established or
    /// when the epoch's counter is exhausted.
    pub(crate) fn propose(
        &mut self,
        config: &Config,
        zab: &mut ZabState,
        now_ms: u64,
        make_txn: impl FnOnce(Zxid) -> Bytes,
        out: &mut Ready,
    ) -> Result<Zxid, Option<Abdication>> {
        if self.phase != LeaderPhase::Broadcast {
            return Err(None);
        }
        if self.last_proposed.counter() == u32::MAX {
            // Java shuts the leader down so that an election starts a new epoch.
            return Err(Some(Abdication("zxid counter rolled over".into())));
        }
        let zxid = Zxid(self.last_proposed.0 + 1);
        self.last_proposed = zxid;
        let txn = Txn { zxid, data: make_txn(zxid) };
        zab.history.append(txn.clone());
        out.persist.push(crate::Persist::Append(txn.clone()));
        self.outstanding.insert(zxid, BTreeSet::from([config.my_id]));
        for (&learner, handler) in self.handlers.iter_mut() {
            if handler.forwarding && !handler.observer {
                out.send_early(learner, Message::Quorum(QuorumMessage::Proposal { txn: txn.clone() }));
                handler.unacked.push_back((zxid, now_ms));
            }
        }
        self.try_commit_from(config, zab, zxid, out);
        Ok(zxid)
    }

    /// A learner forwarded a sync: answer once everything proposed so far is committed.
    pub(crate) fn sync_learner_request(&mut self, learner: Sid, out: &mut Ready) {
        if !self.handlers.contains_key(&learner) {
            return;
        }
        if self.outstanding.is_empty() {
            out.send(learner, Message::Quorum(QuorumMessage::Sync { zxid: Zxid::ZERO }));
        } else {
            self.pending_syncs.entry(self.last_proposed).or_default().push(learner);
        }
    }

    /// Answer a learner's REVALIDATE.
    pub(crate) fn revalidate_reply(&mut self, learner: Sid, session_id: i64, valid: bool, out: &mut Ready) {
        if self.handlers.contains_key(&learner) {
            out.send(learner, Message::Quorum(QuorumMessage::RevalidateReply { session_id, valid }));
        }
    }

    /// The quorum connection to a learner broke.
    pub(crate) fn disconnected(&mut self, learner: Sid) {
        self.handlers.remove(&learner);
        // A NEWLEADER ack counts only while its learner stays: one that left may since have
        // joined a newer epoch, and establishing on its old ack would serve a history that
        // misses that epoch's commits (Java keeps the ack and steps down a tick later).
        if self.phase != LeaderPhase::Broadcast {
            self.newleader_acks.remove(&learner);
        }
    }

    /// Time: phase timeouts (initLimit), then each half tick a PING to every learner and each
    /// tick the check that learners heard within syncLimit still form a quorum.
    pub(crate) fn tick(&mut self, config: &Config, now_ms: u64, out: &mut Ready) -> Outcome {
        if self.phase != LeaderPhase::Broadcast {
            if now_ms >= self.phase_deadline_ms {
                let what = if self.epoch.is_none() { "epoch from a quorum" } else { "acks from a quorum" };
                return Err(Abdication(format!("timeout waiting for {what}")));
            }
            return Ok(());
        }
        let half_tick_ms = (config.tick_ms / 2).max(1);
        while now_ms >= self.next_half_tick_ms {
            self.next_half_tick_ms += half_tick_ms;
            if !self.tick_skip {
                self.tick += 1;
            }
            let mut synced = BTreeSet::from([config.my_id]);
            for (&learner, handler) in &self.handlers {
                if self.tick <= handler.tick_of_next_ack_deadline && !handler.observer {
                    synced.insert(learner);
                }
            }
            if !self.tick_skip && !config.quorum.contains_quorum(&synced) {
                return Err(Abdication(format!("not sufficient followers synced, only {synced:?}")));
            }
            self.tick_skip = !self.tick_skip;
            let mut stale = Vec::new();
            for (&learner, handler) in &self.handlers {
                if !handler.forwarding {
                    continue;
                }
                if handler
                    .unacked
                    .front()
                    .is_some_and(|&(_, sent)| now_ms.saturating_sub(sent) > config.sync_ms())
                {
                    stale.push(learner);
                    continue;
                }
                out.send(learner, Message::Quorum(QuorumMessage::Ping { zxid: self.last_proposed }));
            }
            for learner in stale {
                self.drop_learner(learner, out, None);
            }
        }
        Ok(())
    }

    /// Closes every learner connection (leadership ends).
    pub(crate) fn shutdown(&mut self, out: &mut Ready) {
        for learner in std::mem::take(&mut self.handlers).into_keys() {
            out.events.push(Event::CloseConnection(learner));
        }
    }
}
