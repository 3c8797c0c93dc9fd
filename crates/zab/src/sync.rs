//! How the leader brings a learner up to date: `LearnerHandler.syncFollower` and
//! `queueCommittedProposals`, as a pure function of the leader's logs and the learner's last zxid.

use crate::zxid::{Txn, Zxid};

/// What the leader knows when a learner asks to sync.
#[derive(Debug, Clone, Copy)]
pub struct LeaderLogs<'a> {
    /// The in-memory committed log (`ZKDatabase.committedLog`, the last `commitLogCount`
    /// committed txns), ascending.
    pub committed_log: &'a [Txn],
    /// The data tree's last processed zxid.
    pub last_processed: Zxid,
    /// The on-disk txn log from its oldest retained entry, ascending, when txn-log sync is
    /// enabled (`snapshotSizeFactor >= 0`) and within its size limit; `None` otherwise.
    pub txn_log: Option<&'a [Txn]>,
}

/// One packet of the sync stream, before startForwarding's outstanding proposals and NEWLEADER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncPacket {
    /// DIFF(zxid).
    Diff(Zxid),
    /// TRUNC(zxid).
    Trunc(Zxid),
    /// PROPOSAL(txn) followed by COMMIT(txn.zxid).
    ProposalAndCommit(Txn),
}

/// The leader's choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// True for SNAP: `packets` is then empty and the database at `last_processed` is sent.
    pub snap: bool,
    /// DIFF or TRUNC first, then the backlog.
    pub packets: Vec<SyncPacket>,
    /// The zxid the learner has once the packets are applied (`currentZxid`, handed to
    /// startForwarding): proposals above it still need to reach the learner.
    pub current_zxid: Zxid,
}

fn is_new_epoch_zxid(zxid: Zxid) -> bool {
    zxid.counter() == 0
}

/// `queueCommittedProposals`.
fn queue_committed_proposals(
    packets: &mut Vec<SyncPacket>,
    need_op_packet: &mut bool,
    log: &[Txn],
    peer_last_zxid: Zxid,
    max_zxid: Option<Zxid>,
    last_committed_zxid: Zxid,
) -> Zxid {
    let peer_new_epoch = is_new_epoch_zxid(peer_last_zxid);
    let mut queued_zxid = peer_last_zxid;
    let mut prev_proposal_zxid = Zxid(-1);
    for txn in log {
        let zxid = txn.zxid;
        if max_zxid.is_some_and(|max| zxid > max) {
            break;
        }
        if zxid < peer_last_zxid {
            prev_proposal_zxid = zxid;
            continue;
        }
        if *need_op_packet {
            if zxid == peer_last_zxid {
                packets.push(SyncPacket::Diff(last_committed_zxid));
                *need_op_packet = false;
                continue;
            }
            if peer_new_epoch {
                packets.push(SyncPacket::Diff(last_committed_zxid));
                *need_op_packet = false;
            } else if zxid > peer_last_zxid {
                if zxid.epoch() != peer_last_zxid.epoch() {
                    // A TRUNC may not cross an epoch boundary: the caller falls back to SNAP.
                    return queued_zxid;
                }
                packets.push(SyncPacket::Trunc(prev_proposal_zxid));
                *need_op_packet = false;
            }
        }
        if zxid <= queued_zxid {
            continue;
        }
        packets.push(SyncPacket::ProposalAndCommit(txn.clone()));
        queued_zxid = zxid;
    }
    if *need_op_packet && peer_new_epoch {
        packets.push(SyncPacket::Diff(last_committed_zxid));
        *need_op_packet = false;
    }
    queued_zxid
}

/// `syncFollower`: DIFF when the learner is in sync or within the committed log (or the txn log
/// reaches back to it), TRUNC when it is ahead of the committed log (not at an epoch boundary)
/// or holds txns the leader never had, SNAP otherwise.
pub fn choose_sync(logs: LeaderLogs<'_>, peer_last_zxid: Zxid) -> SyncPlan {
    let peer_new_epoch = is_new_epoch_zxid(peer_last_zxid);
    let mut packets = Vec::new();
    let mut need_op_packet = true;
    let mut need_snap = true;
    let mut current_zxid = peer_last_zxid;
    let (mut min_committed, mut max_committed) = match (logs.committed_log.first(), logs.committed_log.last())
    {
        (Some(first), Some(last)) => (first.zxid, last.zxid),
        _ => (logs.last_processed, logs.last_processed),
    };
    if logs.committed_log.is_empty() {
        min_committed = logs.last_processed;
        max_committed = logs.last_processed;
    }
    if logs.last_processed == peer_last_zxid {
        packets.push(SyncPacket::Diff(peer_last_zxid));
        need_op_packet = false;
        need_snap = false;
    } else if peer_last_zxid > max_committed && !peer_new_epoch {
        packets.push(SyncPacket::Trunc(max_committed));
        current_zxid = max_committed;
        need_op_packet = false;
        need_snap = false;
    } else if max_committed >= peer_last_zxid && min_committed <= peer_last_zxid {
        current_zxid = queue_committed_proposals(
            &mut packets,
            &mut need_op_packet,
            logs.committed_log,
            peer_last_zxid,
            None,
            max_committed,
        );
        need_snap = false;
    } else if peer_last_zxid < min_committed {
        if let Some(txn_log) = logs.txn_log {
            // getProposalsFromTxnLog: usable only if the log starts at or before the peer's zxid.
            let usable = txn_log.first().is_some_and(|first| first.zxid <= peer_last_zxid);
            if usable {
                current_zxid = queue_committed_proposals(
                    &mut packets,
                    &mut need_op_packet,
                    txn_log,
                    peer_last_zxid,
                    Some(min_committed),
                    max_committed,
                );
                if current_zxid < min_committed {
                    // A gap between the txn log and the committed log.
                    current_zxid = peer_last_zxid;
                    packets.clear();
                    need_op_packet = true;
                } else {
                    current_zxid = queue_committed_proposals(
                        &mut packets,
                        &mut need_op_packet,
                        logs.committed_log,
                        current_zxid,
                        None,
                        max_committed,
                    );
                    need_snap = false;
                }
            }
        }
    }
    if need_snap {
        current_zxid = logs.last_processed;
    }
    if need_op_packet && !need_snap {
        // "Unhandled scenario": Java falls back to a snapshot.
        need_snap = true;
    }
    if need_snap {
        packets.clear();
    }
    SyncPlan { snap: need_snap, packets, current_zxid }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn log(zxids: &[(u32, u32)]) -> Vec<Txn> {
        zxids
            .iter()
            .map(|&(e, c)| Txn { zxid: Zxid::new(e, c), data: Bytes::from(format!("{e}.{c}")) })
            .collect()
    }

    fn z(e: u32, c: u32) -> Zxid {
        Zxid::new(e, c)
    }

    fn plan(committed: &[Txn], processed: Zxid, txn_log: Option<&[Txn]>, peer: Zxid) -> SyncPlan {
        choose_sync(LeaderLogs { committed_log: committed, last_processed: processed, txn_log }, peer)
    }

    fn kinds(plan: &SyncPlan) -> Vec<String> {
        plan.packets
            .iter()
            .map(|p| match p {
                SyncPacket::Diff(z) => format!("DIFF {z}"),
                SyncPacket::Trunc(z) => format!("TRUNC {z}"),
                SyncPacket::ProposalAndCommit(t) => format!("P {}", t.zxid),
            })
            .collect()
    }

    #[test]
    fn a_learner_at_the_leaders_last_processed_zxid_gets_an_empty_diff() {
        let committed = log(&[(1, 1), (1, 2)]);
        let p = plan(&committed, z(1, 2), None, z(1, 2));
        assert!(!p.snap);
        assert_eq!(kinds(&p), ["DIFF 0x100000002"]);
    }

    #[test]
    fn a_learner_ahead_of_the_committed_log_is_truncated_to_its_end() {
        let committed = log(&[(1, 1), (1, 2)]);
        let p = plan(&committed, z(1, 2), None, z(1, 3));
        assert_eq!(kinds(&p), ["TRUNC 0x100000002"]);
        assert_eq!(p.current_zxid, z(1, 2));
    }

    #[test]
    fn a_learner_within_the_committed_log_gets_a_diff_of_what_follows() {
        let committed = log(&[(1, 1), (1, 2), (1, 3), (2, 1)]);
        let p = plan(&committed, z(2, 1), None, z(1, 2));
        assert_eq!(kinds(&p), ["DIFF 0x200000001", "P 0x100000003", "P 0x200000001"]);
        assert_eq!(p.current_zxid, z(2, 1));
    }

    #[test]
    fn a_learner_with_a_txn_the_leader_never_had_in_the_same_epoch_is_truncated_then_diffed() {
        // Learner logged 1.3 from a leader that died; the new leader has 1.2 then 2.1.
        let committed = log(&[(1, 1), (1, 2), (1, 4)]);
        let p = plan(&committed, z(1, 4), None, z(1, 3));
        assert_eq!(kinds(&p), ["TRUNC 0x100000002", "P 0x100000004"]);
    }

    #[test]
    fn a_divergence_across_an_epoch_boundary_falls_back_to_snap() {
        let committed = log(&[(1, 1), (1, 2), (3, 1)]);
        let p = plan(&committed, z(3, 1), None, z(2, 1));
        assert!(p.snap);
        assert!(p.packets.is_empty());
    }

    #[test]
    fn a_learner_older_than_the_committed_log_is_diffed_from_the_txn_log_or_snapped() {
        let txn_log = log(&[(1, 1), (1, 2), (1, 3), (1, 4), (1, 5)]);
        let committed = &txn_log[3..];
        let p = plan(committed, z(1, 5), Some(&txn_log), z(1, 2));
        assert_eq!(kinds(&p), ["DIFF 0x100000005", "P 0x100000003", "P 0x100000004", "P 0x100000005"]);
        let p = plan(committed, z(1, 5), None, z(1, 2));
        assert!(p.snap);
        assert_eq!(p.current_zxid, z(1, 5));
        // The txn log does not reach back far enough.
        let p = plan(committed, z(1, 5), Some(&txn_log[2..]), z(1, 2));
        assert!(p.snap);
    }

    #[test]
    fn an_empty_learner_at_a_new_epoch_boundary_gets_a_diff() {
        let committed = log(&[(1, 1), (2, 1)]);
        let p = plan(&committed, z(2, 1), None, z(0, 0));
        // zxid 0 is below the committed log and there is no txn log: SNAP.
        assert!(p.snap);
        // A learner at 2.0 (new epoch, nothing in it) inside the window: DIFF then the rest.
        let p = plan(&committed, z(2, 1), None, z(2, 0));
        assert_eq!(kinds(&p), ["DIFF 0x200000001", "P 0x200000001"]);
    }

    #[test]
    fn an_empty_committed_log_counts_as_the_last_processed_zxid() {
        let p = plan(&[], z(1, 7), None, z(1, 9));
        assert_eq!(kinds(&p), ["TRUNC 0x100000007"]);
        let p = plan(&[], z(1, 7), None, z(1, 3));
        assert!(p.snap);
    }
}
