//! FastLeaderElection, sentence by sentence (zookeeper-protocol.md §12.4 and
//! FastLeaderElection.java): vote order, rounds, finalizeWait, answers from non-LOOKING peers,
//! joining an established ensemble, observers.

use std::sync::Arc;
use zab::election::{total_order_predicate, Election};
use zab::{Config, Message, Notification, QuorumMaj, Ready, ServerState, Vote};

fn config(my_id: u64, voters: &[u64], observers: &[u64]) -> Config {
    Config::new(my_id, Arc::new(QuorumMaj::new(voters.iter().copied(), observers.iter().copied())))
}

fn vote(leader: i64, zxid: i64, peer_epoch: i64) -> Vote {
    Vote { leader, zxid, peer_epoch }
}

fn looking(vote: Vote, round: i64) -> Notification {
    Notification { state: ServerState::Looking, vote, election_epoch: round, version: 2 }
}

fn sent(out: &Ready) -> Vec<(u64, Notification)> {
    out.messages
        .iter()
        .filter_map(|o| match &o.message {
            Message::Election(n) => Some((o.to, n.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_vote_wins_by_higher_peer_epoch_then_higher_zxid_then_higher_sid() {
    let c = config(1, &[1, 2, 3], &[]);
    assert!(total_order_predicate(&c, &vote(1, 0, 2), &vote(3, 100, 1)));
    assert!(total_order_predicate(&c, &vote(1, 5, 1), &vote(3, 4, 1)));
    assert!(total_order_predicate(&c, &vote(3, 5, 1), &vote(2, 5, 1)));
    assert!(!total_order_predicate(&c, &vote(2, 5, 1), &vote(2, 5, 1)));
}

#[test]
fn a_server_without_voting_weight_never_wins() {
    let c = config(1, &[1, 2, 3], &[4]);
    assert!(!total_order_predicate(&c, &vote(4, 100, 9), &vote(1, 0, 0)));
    assert!(!total_order_predicate(&c, &vote(9, 100, 9), &vote(1, 0, 0)));
}

#[test]
fn looking_starts_a_new_round_and_notifies_every_voter_with_its_own_vote() {
    let c = config(2, &[1, 2, 3], &[4]);
    let mut election = Election::new(vote(2, 7, 1));
    let mut out = Ready::default();
    assert!(election.start(&c, 0, vote(2, 7, 1), &mut out).is_none());
    assert_eq!(election.logical_clock(), 1);
    let to: Vec<u64> = sent(&out).iter().map(|(to, _)| *to).collect();
    assert_eq!(to, [1, 3], "voters only (our own copy is delivered internally), no observer");
    assert!(sent(&out).iter().all(|(_, n)| n.vote == vote(2, 7, 1) && n.election_epoch == 1));
}

#[test]
fn a_better_vote_in_the_same_round_is_adopted_and_rebroadcast() {
    let c = config(1, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(1, 5, 1));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 5, 1), &mut out);
    let mut out = Ready::default();
    election.step(&c, 1, 2, ServerState::Looking, looking(vote(2, 6, 1), 1), &mut out);
    assert_eq!(election.proposal(), vote(2, 6, 1));
    assert_eq!(sent(&out).len(), 2);
    // A worse vote changes nothing and is not answered.
    let mut out = Ready::default();
    election.step(&c, 2, 3, ServerState::Looking, looking(vote(3, 1, 1), 1), &mut out);
    assert_eq!(election.proposal(), vote(2, 6, 1));
    assert!(sent(&out).is_empty());
}

#[test]
fn a_higher_round_is_joined_with_the_tally_cleared() {
    let c = config(1, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(1, 5, 1));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 5, 1), &mut out);
    let mut out = Ready::default();
    // Round 4, worse vote: we move to round 4 but keep proposing ourselves.
    election.step(&c, 1, 3, ServerState::Looking, looking(vote(3, 1, 1), 4), &mut out);
    assert_eq!(election.logical_clock(), 4);
    assert_eq!(election.proposal(), vote(1, 5, 1));
    assert!(sent(&out).iter().all(|(_, n)| n.election_epoch == 4 && n.vote == vote(1, 5, 1)));
}

#[test]
fn a_lower_round_is_ignored_but_answered_with_our_vote() {
    let c = config(1, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(1, 5, 1));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 5, 1), &mut out);
    election.step(&c, 1, 3, ServerState::Looking, looking(vote(3, 1, 1), 3), &mut Ready::default());
    let mut out = Ready::default();
    election.step(&c, 2, 2, ServerState::Looking, looking(vote(2, 9, 9), 1), &mut out);
    assert_eq!(election.proposal(), vote(1, 5, 1), "a stale round's vote is not adopted");
    assert_eq!(sent(&out), [(2, looking(vote(1, 5, 1), 3))]);
}

#[test]
fn a_quorum_on_our_vote_decides_only_after_finalize_wait_and_a_better_vote_reopens_it() {
    let c = config(3, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(3, 5, 1));
    let mut out = Ready::default();
    election.start(&c, 0, vote(3, 5, 1), &mut out);
    // Server 1 agrees: quorum {1, 3}; the decision waits finalizeWait (200 ms).
    assert!(election.step(&c, 10, 1, ServerState::Looking, looking(vote(3, 5, 1), 1), &mut out).is_none());
    assert_eq!(election.deadline_ms(), Some(210));
    assert!(election.tick(&c, 209, &mut out).is_none());
    // A better vote arrives within the wait: adopted, and the wait starts over on it.
    let mut out = Ready::default();
    assert!(election.step(&c, 209, 2, ServerState::Looking, looking(vote(2, 6, 1), 1), &mut out).is_none());
    assert_eq!(election.proposal(), vote(2, 6, 1));
    assert_eq!(sent(&out).len(), 2);
    assert_eq!(election.deadline_ms(), Some(409), "quorum {{2, 3}} on the new vote");
    // A worse notification during the wait is consumed and restarts the wait, as each poll does.
    election.step(&c, 300, 1, ServerState::Looking, looking(vote(3, 5, 1), 1), &mut out);
    assert_eq!(election.deadline_ms(), Some(500));
    assert!(election.tick(&c, 499, &mut out).is_none());
    let decision = election.tick(&c, 500, &mut out).expect("decided");
    assert_eq!(decision.state, ServerState::Following);
    assert_eq!(decision.vote, vote(2, 6, 1));
    assert_eq!(decision.election_epoch, 1);
    assert!(!election.is_looking());
}

#[test]
fn a_decided_server_answers_looking_peers_with_its_current_vote_and_state() {
    let c = config(2, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(2, 0, 0));
    let mut out = Ready::default();
    election.start(&c, 0, vote(2, 0, 0), &mut out);
    election.step(&c, 1, 3, ServerState::Looking, looking(vote(3, 0, 0), 1), &mut out);
    let decision = election.tick(&c, 1_000, &mut out).expect("decided for 3");
    assert_eq!(decision.vote.leader, 3);
    let mut out = Ready::default();
    election.step(&c, 2_000, 1, ServerState::Following, looking(vote(1, 0, 0), 1), &mut out);
    let answers = sent(&out);
    assert_eq!(answers.len(), 1);
    assert_eq!(answers[0].1.state, ServerState::Following);
    assert_eq!(answers[0].1.vote, vote(3, 0, 0));
    // A non-LOOKING sender gets no answer.
    let mut out = Ready::default();
    let leading =
        Notification { state: ServerState::Leading, vote: vote(3, 0, 0), election_epoch: 1, version: 2 };
    election.step(&c, 2_001, 3, ServerState::Following, leading, &mut out);
    assert!(sent(&out).is_empty());
}

#[test]
fn a_late_server_joins_an_established_ensemble_when_a_quorum_follows_a_leader_that_says_it_leads() {
    let c = config(1, &[1, 2, 3], &[]);
    let mut election = Election::new(vote(1, 0, 0));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 0, 0), &mut out);
    // The ensemble decided in round 5; its leader 3 answers LEADING, follower 2 FOLLOWING.
    let following =
        Notification { state: ServerState::Following, vote: vote(3, 9, 2), election_epoch: 5, version: 2 };
    assert!(election.step(&c, 1, 2, ServerState::Looking, following, &mut out).is_none());
    let leading =
        Notification { state: ServerState::Leading, vote: vote(3, 9, 2), election_epoch: 5, version: 2 };
    let decision = election.step(&c, 2, 3, ServerState::Looking, leading, &mut out).expect("joins");
    assert_eq!(decision.state, ServerState::Following);
    assert_eq!(decision.vote.leader, 3);
    assert_eq!(election.logical_clock(), 5, "takes the ensemble's round");
}

#[test]
fn followers_alone_without_the_leader_confirming_do_not_make_a_late_server_follow() {
    let c = config(1, &[1, 2, 3, 4, 5], &[]);
    let mut election = Election::new(vote(1, 0, 0));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 0, 0), &mut out);
    for sid in [2, 4, 5] {
        let following = Notification {
            state: ServerState::Following,
            vote: vote(3, 9, 2),
            election_epoch: 5,
            version: 2,
        };
        assert!(
            election.step(&c, 1, sid, ServerState::Looking, following, &mut out).is_none(),
            "checkLeader"
        );
    }
}

#[test]
fn an_observer_votes_for_nobody_and_decides_observing() {
    let c = config(4, &[1, 2, 3], &[4]);
    let initial = vote(i64::MIN, i64::MIN, i64::MIN);
    let mut election = Election::new(initial);
    let mut out = Ready::default();
    election.start(&c, 0, initial, &mut out);
    assert_eq!(sent(&out).len(), 3);
    for sid in [2, 3] {
        let leading = Notification {
            state: if sid == 3 { ServerState::Leading } else { ServerState::Following },
            vote: vote(3, 0, 1),
            election_epoch: 1,
            version: 2,
        };
        if let Some(decision) = election.step(&c, 1, sid, ServerState::Looking, leading, &mut out) {
            assert_eq!(decision.state, ServerState::Observing);
            return;
        }
    }
    panic!("the observer did not decide");
}

#[test]
fn a_voter_answers_an_observer_right_away_whatever_its_state() {
    let c = config(1, &[1, 2, 3], &[4]);
    let mut election = Election::new(vote(1, 0, 0));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 0, 0), &mut out);
    let mut out = Ready::default();
    let from_observer = looking(vote(i64::MIN, i64::MIN, i64::MIN), 1);
    election.step(&c, 1, 4, ServerState::Looking, from_observer, &mut out);
    assert_eq!(sent(&out).len(), 1);
    assert_eq!(sent(&out)[0].0, 4);
    assert_eq!(election.proposal(), vote(1, 0, 0));
}

#[test]
fn silence_doubles_the_retransmit_timeout_up_to_its_ceiling() {
    let mut c = config(1, &[1, 2, 3], &[]);
    c.max_notification_interval_ms = 1_000;
    let mut election = Election::new(vote(1, 0, 0));
    let mut out = Ready::default();
    election.start(&c, 0, vote(1, 0, 0), &mut out);
    let mut now = 0;
    let mut gaps = Vec::new();
    for _ in 0..5 {
        let deadline = election.deadline_ms().unwrap();
        gaps.push(deadline - now);
        now = deadline;
        let mut out = Ready::default();
        election.tick(&c, now, &mut out);
        assert_eq!(sent(&out).len(), 2, "retransmitted to both peers");
    }
    assert_eq!(gaps, [200, 400, 800, 1_000, 1_000]);
}

#[test]
fn an_observer_does_not_echo_a_voter_in_a_lower_round() {
    // Not Java: the voter answers every observer message, so the echo would never stop.
    let c = config(4, &[1, 2, 3], &[4]);
    let initial = vote(i64::MIN, i64::MIN, i64::MIN);
    let mut election = Election::new(initial);
    let mut out = Ready::default();
    election.start(&c, 0, initial, &mut out);
    election.step(&c, 1, 2, ServerState::Looking, looking(vote(2, 0, 0), 3), &mut out);
    let mut out = Ready::default();
    election.step(&c, 2, 1, ServerState::Looking, looking(vote(1, 0, 0), 1), &mut out);
    assert!(sent(&out).is_empty());
}
