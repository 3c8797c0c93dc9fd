//! Zab — ZooKeeper's atomic broadcast — as a sans-io state machine, wire-compatible with Apache
//! ZooKeeper 3.8: FastLeaderElection, discovery, synchronization (DIFF / TRUNC / SNAP chosen as
//! `LearnerHandler.syncFollower` chooses), broadcast, observers.
//!
//! # Driving a [`Node`]
//!
//! The core performs no I/O and reads no clock. A driver owns the sockets, the timers, the txn
//! log and the data tree, and loops:
//!
//! ```text
//! let (mut node, ready) = Node::new(config, restored_from_disk, now_ms);
//! carry_out(ready);
//! loop {
//!     let ready = match wait_for(next event or node.next_deadline_ms()) {
//!         message from peer p     => node.step(now_ms, p, message),   // wire::* decodes
//!         quorum socket to p died => node.disconnected(now_ms, p),
//!         timer                   => node.tick(now_ms),
//!         client write on leader  => node.propose(now_ms, |zxid| txn bytes)?.1,
//!         client write on learner => node.forward_request(..)?,
//!     };
//!     carry_out(ready);
//! }
//! ```
//!
//! `carry_out` keeps the order [`Ready`] documents: persist (then fsync), apply, send, events.
//! That order is the safety rule of Zab: an ACK, an ACKEPOCH or a NEWLEADER-ACK only leaves once
//! what it acknowledges (txns, acceptedEpoch, currentEpoch) is durable.
//!
//! # State
//!
//! [`ZabState`] names the variables after Zab.tla: `accepted_epoch`, `current_epoch`, `history`,
//! `last_committed`; zxid = epoch << 32 | counter ([`Zxid`]). The quorum rule is a
//! [`QuorumVerifier`] ([`QuorumMaj`] by default): observers never vote.
//!
//! # Fidelity to Java 3.8
//!
//! Same as Java: the notification and handshake bytes, the vote order and round rules,
//! finalizeWait and the retransmit backoff, `checkLeader` for late joiners, the epoch a leader
//! proposes (max acceptedEpoch of a quorum + 1), when acceptedEpoch and currentEpoch are written
//! (the leader writes currentEpoch right after the ACKEPOCH quorum, as `Leader.lead` does), the
//! ACKEPOCH -1 rule, the follower-ahead refusal, the DIFF/TRUNC/SNAP choice
//! (`syncFollower`/`queueCommittedProposals`, including TRUNC-then-DIFF and the epoch-boundary
//! SNAP fallback), NEWLEADER acked only after the backlog and currentEpoch are durable, sync
//! proposals acked after UPTODATE, commits strictly in zxid order, INFORM to observers, the
//! half-tick PING and the per-tick syncLimit quorum check, read timeouts of initLimit/syncLimit.
//!
//! Deliberately different (safer, invisible on the wire):
//! - a learner applies the sync backlog at UPTODATE, not as COMMITs arrive during sync;
//! - a restarted server applies only its snapshot; log entries past it are applied once a
//!   leader confirms them (Java replays its whole log into the tree at startup);
//! - a SNAP sent before the leader is established carries the tree at `lastCommitted`,
//!   followed by the rest of the leader's history as PROPOSAL+COMMIT pairs;
//! - a leader steps down when a voter reports an acceptedEpoch above its epoch: that voter would
//!   refuse LEADERINFO and, in Java, re-elect and rejoin the same leader forever (found by the
//!   simulation, seed 13305);
//! - a LOOKING observer does not answer a voter's notification from a lower round (Java's does,
//!   and the voter answers every observer message at once: an echo that lasts until the voter's
//!   round moves; seed 17403).
//!
//! Not modelled yet: the txn-log size limit for DIFF (`snapshotSizeFactor`: the whole retained
//! history qualifies), reconfig (COMMITANDACTIVATE / INFORMANDACTIVATE), observer masters,
//! hierarchical quorums (the [`QuorumVerifier`] trait is the seam), the 2-server oracle,
//! pre-3.4 learners (protocol < 0x10000), quorum SASL.
//!
//! # Layout
//!
//! One module per phase: [`election`] (FLE), [`leader`] (discovery, sync, broadcast on the
//! leader's side), [`learner`] (followers and observers), [`sync`] (the DIFF/TRUNC/SNAP choice,
//! a pure function), [`wire`] (Java's bytes), [`node`] (the server that switches between them).

pub mod config;
pub mod election;
pub mod leader;
pub mod learner;
pub mod message;
pub mod node;
pub mod quorum;
pub mod ready;
pub mod state;
pub mod sync;
pub mod wire;
pub mod zxid;

pub use config::Config;
pub use message::{Message, Notification, QuorumMessage, ServerState, SessionTouch, Vote};
pub use node::{Node, NotReady};
pub use quorum::{QuorumMaj, QuorumVerifier};
pub use ready::{Event, Outgoing, Persist, Ready, Waiting};
pub use state::{History, Restored, ZabState};
pub use zxid::{Sid, Txn, Zxid};
