//! Discovery and synchronization rules on one core, message by message (Leader.java,
//! LearnerHandler.java, Learner.java): the epoch a leader proposes, what must be durable before
//! each answer leaves, and the abort rules.

use std::sync::Arc;
use zab::{
    Config, Event, Message, Node, Notification, Persist, QuorumMaj, QuorumMessage, Ready, Restored,
    ServerState, Txn, Vote, Zxid,
};

fn config(my_id: u64) -> Config {
    Config::new(my_id, Arc::new(QuorumMaj::new([1, 2, 3], [])))
}

fn txns(epoch: u32, count: u32) -> Vec<Txn> {
    (1..=count).map(|c| Txn { zxid: Zxid::new(epoch, c), data: format!("{epoch}.{c}").into() }).collect()
}

fn quorum(out: &Ready) -> Vec<(u64, QuorumMessage)> {
    out.messages
        .iter()
        .filter_map(|o| match &o.message {
            Message::Quorum(m) => Some((o.to, m.clone())),
            _ => None,
        })
        .collect()
}

/// A node that the other two voted for: it decides after finalizeWait.
fn elected(my_id: u64, restored: Restored, leader: u64) -> Node {
    let (mut node, _) = Node::new(config(my_id), restored, 0);
    let proposal = node.election().proposal();
    let candidate = if leader == my_id {
        proposal
    } else {
        Vote { leader: leader as i64, zxid: 1 << 40, peer_epoch: 99 }
    };
    for peer in [1, 2, 3].into_iter().filter(|&p| p != my_id) {
        let n = Notification { state: ServerState::Looking, vote: candidate, election_epoch: 1, version: 2 };
        node.step(1, peer, Message::Election(n));
    }
    node.tick(1_000);
    node
}

#[test]
fn the_leader_proposes_one_more_than_the_highest_accepted_epoch_of_a_quorum_and_persists_it_first() {
    let restored =
        Restored { accepted_epoch: 4, current_epoch: 4, snapshot_zxid: Zxid::ZERO, log: txns(4, 2) };
    let mut leader = elected(3, restored, 3);
    assert_eq!(leader.state(), ServerState::Leading);
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 6,
        sid: 1,
        protocol_version: 0x10000,
        config_version: 0,
    };
    let out = leader.step(2_000, 1, Message::Quorum(info));
    assert_eq!(out.persist, [Persist::AcceptedEpoch(7)], "acceptedEpoch is durable before LEADERINFO leaves");
    assert_eq!(quorum(&out), [(1, QuorumMessage::LeaderInfo { new_epoch: 7, protocol_version: 0x10000 })]);
    // A late learner gets the decided epoch at once.
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 2,
        sid: 2,
        protocol_version: 0x10000,
        config_version: 0,
    };
    let out = leader.step(2_001, 2, Message::Quorum(info));
    assert!(out.persist.is_empty());
    assert_eq!(quorum(&out), [(2, QuorumMessage::LeaderInfo { new_epoch: 7, protocol_version: 0x10000 })]);
}

#[test]
fn after_a_quorum_of_ackepoch_the_leader_writes_current_epoch_then_syncs_and_after_newleader_acks_commits_its_history(
) {
    let restored =
        Restored { accepted_epoch: 1, current_epoch: 1, snapshot_zxid: Zxid::ZERO, log: txns(1, 3) };
    let mut leader = elected(3, restored, 3);
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 1,
        sid: 1,
        protocol_version: 0x10000,
        config_version: 0,
    };
    leader.step(2_000, 1, Message::Quorum(info));
    let ack = QuorumMessage::AckEpoch { last_zxid: Zxid::new(1, 2), current_epoch: 1 };
    let out = leader.step(2_001, 1, Message::Quorum(ack));
    assert_eq!(
        out.persist,
        [Persist::CurrentEpoch(2)],
        "Java writes currentEpoch right after waitForEpochAck"
    );
    let sent: Vec<QuorumMessage> = quorum(&out).into_iter().map(|(_, m)| m).collect();
    assert_eq!(
        sent,
        [
            QuorumMessage::Diff { zxid: Zxid::new(1, 3) },
            QuorumMessage::Proposal { txn: txns(1, 3)[2].clone() },
            QuorumMessage::Commit { zxid: Zxid::new(1, 3) },
            QuorumMessage::NewLeader { zxid: Zxid::new(2, 0), config: Default::default() },
        ]
    );
    assert!(out.apply.is_empty(), "nothing is committed before a quorum acks NEWLEADER");
    let out = leader.step(2_002, 1, Message::Quorum(QuorumMessage::Ack { zxid: Zxid::new(2, 0) }));
    assert_eq!(out.apply, txns(1, 3), "the whole history is committed in the new epoch");
    assert!(out.events.contains(&Event::Established { epoch: 2 }));
    assert_eq!(quorum(&out), [(1, QuorumMessage::UpToDate)]);
    assert_eq!(leader.established_epoch(), Some(2));
    let (zxid, out) = leader.propose(2_003, |_| "x".into()).unwrap();
    assert_eq!(zxid, Zxid::new(2, 1));
    assert_eq!(out.persist, [Persist::Append(Txn { zxid, data: "x".into() })]);
    // The PROPOSAL leaves while the leader logs the txn; the commit waits for a follower's ack.
    let early: Vec<_> = out.early.iter().map(|o| (o.to, o.message.clone())).collect();
    let txn = Txn { zxid, data: "x".into() };
    assert_eq!(early, [(1, Message::Quorum(QuorumMessage::Proposal { txn: txn.clone() }))]);
    assert!(out.messages.is_empty() && out.apply.is_empty());
    let out = leader.step(2_004, 1, Message::Quorum(QuorumMessage::Ack { zxid }));
    assert_eq!(out.apply, [txn]);
    assert_eq!(quorum(&out), [(1, QuorumMessage::Commit { zxid })]);
}

#[test]
fn a_follower_ahead_of_the_leader_is_refused() {
    let restored =
        Restored { accepted_epoch: 1, current_epoch: 1, snapshot_zxid: Zxid::ZERO, log: txns(1, 3) };
    let mut leader = elected(3, restored, 3);
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 1,
        sid: 1,
        protocol_version: 0x10000,
        config_version: 0,
    };
    leader.step(2_000, 1, Message::Quorum(info));
    let ack = QuorumMessage::AckEpoch { last_zxid: Zxid::new(1, 9), current_epoch: 1 };
    let out = leader.step(2_001, 1, Message::Quorum(ack));
    assert!(out.events.contains(&Event::CloseConnection(1)));
    assert!(out.persist.is_empty(), "no quorum of epoch acks");
}

#[test]
fn without_a_quorum_of_learners_within_init_limit_the_leader_gives_up() {
    let mut leader = elected(3, Restored::default(), 3);
    let out = leader.tick(1_000 + 20_000 + 1);
    assert_eq!(leader.state(), ServerState::Looking);
    assert!(out.events.iter().any(|e| matches!(e, Event::StateChanged { state: ServerState::Looking, .. })));
}

#[test]
fn a_follower_persists_the_new_epoch_before_ackepoch_and_refuses_an_older_leader() {
    let restored =
        Restored { accepted_epoch: 3, current_epoch: 2, snapshot_zxid: Zxid::ZERO, log: txns(2, 4) };
    let mut follower = elected(1, restored.clone(), 3);
    assert_eq!(follower.state(), ServerState::Following);
    let out = follower.step(
        2_000,
        3,
        Message::Quorum(QuorumMessage::LeaderInfo { new_epoch: 4, protocol_version: 0x10000 }),
    );
    assert_eq!(out.persist, [Persist::AcceptedEpoch(4)]);
    assert_eq!(quorum(&out), [(3, QuorumMessage::AckEpoch { last_zxid: Zxid::new(2, 4), current_epoch: 2 })]);

    // Equal to what it accepted: it acks with -1.
    let mut follower = elected(1, restored.clone(), 3);
    let out = follower.step(
        2_000,
        3,
        Message::Quorum(QuorumMessage::LeaderInfo { new_epoch: 3, protocol_version: 0x10000 }),
    );
    assert_eq!(
        quorum(&out),
        [(3, QuorumMessage::AckEpoch { last_zxid: Zxid::new(2, 4), current_epoch: -1 })]
    );

    // Lower: back to electing.
    let mut follower = elected(1, restored, 3);
    follower.step(
        2_000,
        3,
        Message::Quorum(QuorumMessage::LeaderInfo { new_epoch: 2, protocol_version: 0x10000 }),
    );
    assert_eq!(follower.state(), ServerState::Looking);
}

#[test]
fn a_follower_logs_the_backlog_and_current_epoch_before_acking_newleader_and_applies_at_uptodate() {
    let restored =
        Restored { accepted_epoch: 1, current_epoch: 1, snapshot_zxid: Zxid::ZERO, log: txns(1, 1) };
    let mut follower = elected(1, restored, 3);
    follower.step(
        2_000,
        3,
        Message::Quorum(QuorumMessage::LeaderInfo { new_epoch: 2, protocol_version: 0x10000 }),
    );
    let backlog = txns(1, 3);
    let mut persisted = Vec::new();
    for message in [
        QuorumMessage::Diff { zxid: Zxid::new(1, 3) },
        QuorumMessage::Proposal { txn: backlog[1].clone() },
        QuorumMessage::Commit { zxid: Zxid::new(1, 2) },
        QuorumMessage::Proposal { txn: backlog[2].clone() },
        QuorumMessage::Commit { zxid: Zxid::new(1, 3) },
    ] {
        let out = follower.step(2_001, 3, Message::Quorum(message));
        assert!(out.apply.is_empty() && out.messages.is_empty(), "nothing applied or acked during sync");
        persisted.extend(out.persist);
    }
    assert_eq!(persisted, [Persist::Append(backlog[1].clone()), Persist::Append(backlog[2].clone())]);
    let out = follower.step(
        2_002,
        3,
        Message::Quorum(QuorumMessage::NewLeader { zxid: Zxid::new(2, 0), config: Default::default() }),
    );
    assert_eq!(out.persist, [Persist::CurrentEpoch(2)]);
    assert_eq!(quorum(&out), [(3, QuorumMessage::Ack { zxid: Zxid::new(2, 0) })], "sent after the persist");
    let out = follower.step(2_003, 3, Message::Quorum(QuorumMessage::UpToDate));
    assert_eq!(out.apply, backlog);
    assert_eq!(quorum(&out), [(3, QuorumMessage::Ack { zxid: Zxid::new(2, 0) })]);
    assert!(follower.is_serving());
    // Broadcast: PROPOSAL → persist then ACK; COMMIT → apply.
    let txn = Txn { zxid: Zxid::new(2, 1), data: "y".into() };
    let out = follower.step(2_004, 3, Message::Quorum(QuorumMessage::Proposal { txn: txn.clone() }));
    assert_eq!(out.persist, [Persist::Append(txn.clone())]);
    assert_eq!(quorum(&out), [(3, QuorumMessage::Ack { zxid: txn.zxid })]);
    let out = follower.step(2_005, 3, Message::Quorum(QuorumMessage::Commit { zxid: txn.zxid }));
    assert_eq!(out.apply, [txn]);
    // A PING is answered with the session touches collected since the last one.
    follower.touch_session(0x55, 30_000);
    let out = follower.step(2_006, 3, Message::Quorum(QuorumMessage::Ping { zxid: Zxid::new(2, 1) }));
    match &quorum(&out)[0].1 {
        QuorumMessage::PingReply { touches, .. } => assert_eq!(touches.len(), 1),
        other => panic!("{other:?}"),
    }
    // A silent leader is abandoned after syncLimit.
    follower.tick(2_006 + 5 * 2_000);
    assert_eq!(follower.state(), ServerState::Looking);
}

#[test]
fn a_leader_steps_down_for_a_voter_that_accepted_a_later_epoch() {
    // Not Java (which livelocks there): the voter would refuse LEADERINFO forever.
    let mut leader = elected(3, Restored::default(), 3);
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 0,
        sid: 1,
        protocol_version: 0x10000,
        config_version: 0,
    };
    leader.step(2_000, 1, Message::Quorum(info));
    leader.step(
        2_001,
        1,
        Message::Quorum(QuorumMessage::AckEpoch { last_zxid: Zxid::ZERO, current_epoch: 0 }),
    );
    leader.step(2_002, 1, Message::Quorum(QuorumMessage::Ack { zxid: Zxid::new(1, 0) }));
    assert_eq!(leader.established_epoch(), Some(1));
    let info = QuorumMessage::FollowerInfo {
        accepted_epoch: 2,
        sid: 2,
        protocol_version: 0x10000,
        config_version: 0,
    };
    let out = leader.step(2_003, 2, Message::Quorum(info));
    assert_eq!(leader.state(), ServerState::Looking);
    assert!(out.events.contains(&Event::Serving(false)));
    assert!(out.events.contains(&Event::CloseConnection(1)));
}

#[test]
fn a_newleader_ack_from_a_learner_that_disconnected_does_not_count_toward_establishment() {
    let five = || Config::new(3, Arc::new(QuorumMaj::new([1, 2, 3, 4, 5], [])));
    let restored =
        Restored { accepted_epoch: 1, current_epoch: 1, snapshot_zxid: Zxid::ZERO, log: txns(1, 3) };
    let (mut leader, _) = Node::new(five(), restored, 0);
    let vote = leader.election().proposal();
    for peer in [1, 2, 4] {
        let n = Notification { state: ServerState::Looking, vote, election_epoch: 1, version: 2 };
        leader.step(1, peer, Message::Election(n));
    }
    leader.tick(1_000);
    assert_eq!(leader.state(), ServerState::Leading);
    for learner in [1u64, 2] {
        let info = QuorumMessage::FollowerInfo {
            accepted_epoch: 1,
            sid: learner as i64,
            protocol_version: 0x10000,
            config_version: 0,
        };
        leader.step(2_000, learner, Message::Quorum(info));
    }
    let mut synced = Vec::new();
    for learner in [1u64, 2] {
        let ack = QuorumMessage::AckEpoch { last_zxid: Zxid::new(1, 3), current_epoch: 1 };
        let out = leader.step(2_001, learner, Message::Quorum(ack));
        synced.extend(quorum(&out).into_iter().filter(|(_, m)| matches!(m, QuorumMessage::NewLeader { .. })));
    }
    assert_eq!(synced.iter().map(|(to, _)| *to).collect::<Vec<_>>(), [1, 2], "both are sent NEWLEADER");
    let now = 2_002;
    let newleader_ack = || Message::Quorum(QuorumMessage::Ack { zxid: Zxid::new(2, 0) });
    let out = leader.step(now, 1, newleader_ack());
    assert!(!out.events.contains(&Event::Established { epoch: 2 }), "the leader and 1 are not 3 of 5");
    // Learner 1 leaves (it may go on to follow a newer epoch); its ack leaves with it.
    leader.disconnected(now + 1, 1);
    let out = leader.step(now + 2, 2, newleader_ack());
    assert!(!out.events.contains(&Event::Established { epoch: 2 }), "only the leader and 2 acked and stayed");
    assert_eq!(leader.established_epoch(), None);
}

/// Server 1, told by 2 and 3 to follow 3, before finalizeWait; it retries a refused leader
/// every 100 ms.
fn voted_for_3() -> Node {
    let mut learner_config = config(1);
    learner_config.connect_retry_ms = 100;
    let restored =
        Restored { accepted_epoch: 1, current_epoch: 1, snapshot_zxid: Zxid::ZERO, log: txns(1, 1) };
    let (mut learner, _) = Node::new(learner_config, restored, 0);
    let vote = Vote { leader: 3, zxid: 1 << 40, peer_epoch: 99 };
    for peer in [2, 3] {
        let n = Notification { state: ServerState::Looking, vote, election_epoch: 1, version: 2 };
        learner.step(1, peer, Message::Election(n));
    }
    learner
}

#[test]
fn a_learner_refused_by_its_leader_tries_five_times_100_ms_apart_then_elects_again() {
    let mut learner = voted_for_3();
    let registers = |out: &Ready| {
        quorum(out)
            .iter()
            .filter(|(to, m)| *to == 3 && matches!(m, QuorumMessage::FollowerInfo { .. }))
            .count()
    };
    let out = learner.tick(1_000);
    assert_eq!(learner.state(), ServerState::Following);
    assert_eq!(registers(&out), 1, "FOLLOWERINFO goes to the leader it elected");
    // The leader's quorum port is not open yet: every attempt is refused.
    let mut now = 1_000;
    let mut attempts = 1;
    while learner.state() == ServerState::Following && now < 30_000 {
        let out = learner.disconnected(now + 1, 3);
        assert_eq!(registers(&out), 0);
        if learner.state() != ServerState::Following {
            break;
        }
        assert_eq!(registers(&learner.tick(now + 100)), 0, "not before connect_retry_ms");
        now += 101;
        attempts += registers(&learner.tick(now));
    }
    // Five attempts, 100 ms apart (Java's connectToLeader), then a new election.
    assert_eq!(learner.state(), ServerState::Looking);
    assert_eq!((attempts, now), (5, 1_404));
}

#[test]
fn a_learner_whose_leader_never_answers_elects_again_after_init_limit() {
    let mut learner = voted_for_3();
    learner.tick(1_000);
    assert_eq!(learner.state(), ServerState::Following);
    // Connected, FOLLOWERINFO sent, no LEADERINFO: initLimit (10 ticks of 2 s).
    learner.tick(20_999);
    assert_eq!(learner.state(), ServerState::Following);
    learner.tick(21_000);
    assert_eq!(learner.state(), ServerState::Looking);
}
