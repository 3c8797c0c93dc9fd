//! What a step produces, and the order in which the driver must carry it out.

use crate::message::{Message, QuorumMessage, ServerState, SessionTouch, Vote};
use crate::zxid::{Sid, Txn, Zxid};
use bytes::Bytes;
use jute::records::Id;

/// A write the driver makes durable. Carried out in order, then one fsync, before anything in
/// [`Ready::apply`] or [`Ready::messages`]: an ACK, ACKEPOCH, NEWLEADER-ACK or LEADERINFO may
/// depend on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Persist {
    /// Rewrite the `acceptedEpoch` file.
    AcceptedEpoch(u32),
    /// Rewrite the `currentEpoch` file.
    CurrentEpoch(u32),
    /// Append a txn to the log.
    Append(Txn),
    /// Drop every log entry above this zxid (TRUNC). Never goes below what was applied.
    Truncate(Zxid),
    /// Replace the data tree with this serialized database at `zxid` (SNAP), make it durable
    /// (a snapshot file) and drop the log: the core's history now starts after `zxid`.
    InstallSnapshot { zxid: Zxid, snapshot: Bytes },
}

/// A message to send once the batch's [`Persist`]s are durable and its applies are done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// Recipient.
    pub to: Sid,
    /// The message. A quorum `Snap` leaves with an empty snapshot: the driver writes its data
    /// tree, which after this batch's applies is exactly at the SNAP zxid.
    pub message: Message,
}

/// Something the driver should know or act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The server's state changed (LOOKING → LEADING/FOLLOWING/OBSERVING or back).
    StateChanged { state: ServerState, vote: Vote, election_epoch: i64 },
    /// Leader: a quorum acked NEWLEADER; epoch `epoch` is established and the leader serves.
    Established { epoch: u32 },
    /// The server serves clients (leader established, or learner got UPTODATE) — or, with
    /// `false`, stops serving (it lost its leader or its quorum).
    Serving(bool),
    /// Leader: a learner forwarded a client request; run it through prep, then
    /// [`crate::Node::propose`] (or [`crate::Node::sync_learner`] for a sync).
    Request { from: Sid, session_id: i64, cxid: i32, op_type: i32, request: Bytes, authinfo: Vec<Id> },
    /// Leader: sessions a learner saw activity on since its last ping.
    SessionTouches { from: Sid, touches: Vec<SessionTouch> },
    /// Leader: a learner asks whether a session that moved to it is valid; answer with
    /// [`crate::Node::revalidate_reply`].
    Revalidate { from: Sid, session_id: i64, timeout_ms: i32 },
    /// Learner: the leader's answer to a revalidation.
    Revalidated { session_id: i64, valid: bool },
    /// Learner: a sync forwarded to the leader is done (SYNC received).
    SyncDone { zxid: Zxid },
    /// Close the quorum connection to this peer (a learner that failed, or the leader we leave).
    CloseConnection(Sid),
    /// A peer broke the protocol; the connection is closed. Never happens between correct peers.
    ProtocolError { peer: Sid, reason: String },
}

/// The output of one call into the core. The driver carries it out in this order:
///
/// 0. [`Ready::early`] at once, before the persists (see [`Ready::release_early`] for the order
///    they keep with earlier batches' messages);
/// 1. every [`Persist`] in order, then fsync — nothing below may happen before it is durable;
/// 2. [`Ready::apply`]: committed txns, in zxid order, to the data tree;
/// 3. [`Ready::messages`], in order (per recipient the quorum port is FIFO);
/// 4. [`Ready::events`].
///
/// Batches are carried out in the order the core returned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ready {
    /// Messages that do not depend on this batch's persists: a leader's PROPOSALs. Each follower
    /// makes the txn durable before it acks, and the leader counts its own ack only through
    /// its commits, which run after this batch's persists (batches complete in order); so the
    /// leader's fsync and its followers' run in parallel, as in Java's Leader.propose.
    pub early: Vec<Outgoing>,
    /// Durable writes.
    pub persist: Vec<Persist>,
    /// Committed txns to apply, strictly increasing zxids.
    pub apply: Vec<Txn>,
    /// Messages to send.
    pub messages: Vec<Outgoing>,
    /// Everything else.
    pub events: Vec<Event>,
}

impl Ready {
    /// True when there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.early.is_empty()
            && self.persist.is_empty()
            && self.apply.is_empty()
            && self.messages.is_empty()
            && self.events.is_empty()
    }

    pub(crate) fn send(&mut self, to: Sid, message: Message) {
        self.messages.push(Outgoing { to, message });
    }

    pub(crate) fn send_early(&mut self, to: Sid, message: Message) {
        self.early.push(Outgoing { to, message });
    }

    /// Takes this batch's early messages for the driver to send now. `waiting` are the earlier
    /// batches not carried out yet, oldest first: a message to a peer that one of them still
    /// has an order-bound message or a connection close for joins the newest such batch's
    /// messages instead, because a quorum connection is FIFO and must not see a PROPOSAL
    /// overtake, say, the DIFF and NEWLEADER that bring that learner up to date. COMMITs and
    /// PINGs bind nothing: a PROPOSAL for a later zxid may pass an earlier COMMIT (Java's leader
    /// sends each as it happens; a follower commits the oldest pending txn whatever arrived
    /// since), and holding PROPOSALs behind every earlier batch's COMMITs would make them wait
    /// for the previous fsync after all.
    pub fn release_early<'a>(
        &mut self,
        waiting: impl DoubleEndedIterator<Item = &'a mut Waiting>,
    ) -> Vec<Outgoing> {
        let mut early = std::mem::take(&mut self.early);
        // Newest batch first: a peer's messages join the newest batch bound to it, and once
        // moved there no older batch sees them.
        for batch in waiting.rev() {
            if early.is_empty() {
                break;
            }
            if batch.bound.is_empty() {
                continue;
            }
            let held = early.extract_if(.., |outgoing| batch.bound.binary_search(&outgoing.to).is_ok());
            batch.ready.messages.extend(held);
        }
        early
    }
}

/// A batch the driver has not carried out yet (its persists, or an earlier batch's, are not
/// durable), with the peers its messages bind (see [`Ready::release_early`]), worked out once
/// when it starts waiting: a deep pipeline keeps hundreds of batches waiting, and scanning
/// their COMMITs for every new PROPOSAL took a sixth of a leader's time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Waiting {
    ready: Ready,
    /// Peers with an order-bound message or a connection close in `ready`, ascending.
    bound: Vec<Sid>,
}

impl Waiting {
    pub fn new(ready: Ready) -> Waiting {
        let messages =
            ready.messages.iter().filter(|outgoing| binds(&outgoing.message)).map(|outgoing| outgoing.to);
        let closes = ready.events.iter().filter_map(|event| match event {
            Event::CloseConnection(peer) => Some(*peer),
            _ => None,
        });
        let mut bound: Vec<Sid> = messages.chain(closes).collect();
        bound.sort_unstable();
        bound.dedup();
        Waiting { ready, bound }
    }

    /// Joins a later batch that has nothing to persist to this one, so that a pipeline of ACKs
    /// does not queue a batch each: the order of applies and of messages stays, and this batch's
    /// messages now leave after the later batch's applies, which only a SNAP (serialized from
    /// the tree when it is sent) or an event could tell apart — a batch with either takes
    /// nothing. Gives the batch back when it cannot join.
    pub fn absorb(&mut self, later: Ready) -> Result<(), Ready> {
        let snap_here = self
            .ready
            .messages
            .iter()
            .any(|o| matches!(o.message, Message::Quorum(QuorumMessage::Snap { .. })));
        if !later.persist.is_empty() || !later.early.is_empty() || !self.ready.events.is_empty() || snap_here
        {
            return Err(later);
        }
        let joined =
            Waiting::new(Ready { messages: later.messages, events: later.events, ..Ready::default() });
        for peer in joined.bound {
            if let Err(at) = self.bound.binary_search(&peer) {
                self.bound.insert(at, peer);
            }
        }
        self.ready.apply.extend(later.apply);
        self.ready.messages.extend(joined.ready.messages);
        self.ready.events = joined.ready.events;
        Ok(())
    }

    /// The batch, with the early messages held behind it.
    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    pub fn into_ready(self) -> Ready {
        self.ready
    }
}

/// Whether a later early message to the same peer must wait behind this one.
fn binds(message: &Message) -> bool {
    !matches!(message, Message::Quorum(QuorumMessage::Commit { .. } | QuorumMessage::Ping { .. }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proposal(to: Sid, counter: u32) -> Outgoing {
        let txn = Txn { zxid: Zxid::new(1, counter), data: Bytes::new() };
        Outgoing { to, message: Message::Quorum(QuorumMessage::Proposal { txn }) }
    }

    #[test]
    fn an_early_message_waits_behind_the_newest_batch_that_still_talks_to_its_peer() {
        let diff = Outgoing { to: 2, message: Message::Quorum(QuorumMessage::Diff { zxid: Zxid::ZERO }) };
        let mut older = Waiting::new(Ready { messages: vec![diff.clone()], ..Ready::default() });
        let mut newer = Waiting::new(Ready { events: vec![Event::CloseConnection(3)], ..Ready::default() });
        let mut quiet = Waiting::new(Ready::default());
        let mut ready =
            Ready { early: vec![proposal(1, 5), proposal(2, 5), proposal(3, 5)], ..Ready::default() };
        let now = ready.release_early([&mut older, &mut newer, &mut quiet].into_iter());
        assert_eq!(now, [proposal(1, 5)], "nothing waits for peer 1");
        assert_eq!(older.ready().messages, [diff, proposal(2, 5)], "after the DIFF to peer 2");
        assert_eq!(newer.ready().messages, [proposal(3, 5)], "with the batch that closes peer 3");
        assert!(ready.early.is_empty() && quiet.ready().messages.is_empty());
        // A later PROPOSAL to peer 2 follows the one held before it.
        let mut later = Ready { early: vec![proposal(2, 6)], ..Ready::default() };
        assert!(later.release_early([&mut older, &mut newer, &mut quiet].into_iter()).is_empty());
        assert_eq!(older.ready().messages[1..], [proposal(2, 5), proposal(2, 6)]);
    }

    #[test]
    fn a_batch_without_persists_joins_the_waiting_one_unless_an_event_or_snap_must_come_first() {
        let commit = |to, c| Outgoing {
            to,
            message: Message::Quorum(QuorumMessage::Commit { zxid: Zxid::new(1, c) }),
        };
        let txn = |c| Txn { zxid: Zxid::new(1, c), data: Bytes::new() };
        let mut waiting = Waiting::new(Ready {
            persist: vec![Persist::Append(txn(6))],
            apply: vec![txn(4)],
            messages: vec![commit(2, 4)],
            ..Ready::default()
        });
        let close = Ready {
            apply: vec![txn(5)],
            messages: vec![commit(2, 5)],
            events: vec![Event::CloseConnection(3)],
            ..Ready::default()
        };
        assert!(waiting.absorb(close).is_ok());
        assert_eq!(waiting.ready().apply, [txn(4), txn(5)]);
        assert_eq!(waiting.ready().messages, [commit(2, 4), commit(2, 5)]);
        // The close binds peer 3 now; and with an event in it, nothing more joins.
        let mut proposal3 = Ready { early: vec![proposal(3, 7)], ..Ready::default() };
        assert!(proposal3.release_early([&mut waiting].into_iter()).is_empty());
        assert!(waiting.absorb(Ready { apply: vec![txn(6)], ..Ready::default() }).is_err());
        let with_persist = Ready { persist: vec![Persist::Append(txn(8))], ..Ready::default() };
        assert!(Waiting::new(Ready::default()).absorb(with_persist).is_err());
        let snap = Outgoing {
            to: 2,
            message: Message::Quorum(QuorumMessage::Snap { zxid: Zxid::new(1, 4), snapshot: Bytes::new() }),
        };
        let mut snapping = Waiting::new(Ready { messages: vec![snap], ..Ready::default() });
        assert!(snapping.absorb(Ready { apply: vec![txn(5)], ..Ready::default() }).is_err());
    }

    #[test]
    fn an_early_proposal_passes_earlier_commits_and_pings() {
        let commit =
            |to| Outgoing { to, message: Message::Quorum(QuorumMessage::Commit { zxid: Zxid::new(1, 4) }) };
        let ping =
            Outgoing { to: 2, message: Message::Quorum(QuorumMessage::Ping { zxid: Zxid::new(1, 4) }) };
        let mut older =
            Waiting::new(Ready { messages: vec![commit(1), commit(2), ping.clone()], ..Ready::default() });
        let mut ready = Ready { early: vec![proposal(1, 5), proposal(2, 5)], ..Ready::default() };
        let now = ready.release_early([&mut older].into_iter());
        assert_eq!(now, [proposal(1, 5), proposal(2, 5)]);
        assert_eq!(older.ready().messages, [commit(1), commit(2), ping]);
    }
}
