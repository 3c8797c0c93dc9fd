//! Scripted ensemble scenarios on the simulated network (no random faults): the phases of the
//! golden Java captures (/work/shared/reference/golden/quorum/*.phases.txt), and which of DIFF,
//! TRUNC and SNAP each rejoining server gets.

mod sim;

use sim::Simulation;
use zab::{ServerState, Zxid};

fn formed(simulation: &mut Simulation) -> u64 {
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    simulation.leader().unwrap()
}

fn syncs_of(simulation: &Simulation, learner: u64, from: usize) -> Vec<&'static str> {
    simulation.sync_log[from..].iter().filter(|(to, _)| *to == learner).map(|(_, kind)| *kind).collect()
}

#[test]
fn empty_servers_elect_the_highest_sid_and_everyone_gets_an_empty_diff() {
    // As in every capture: three empty servers, leader 3, DIFF to both followers.
    for voters in [3, 5] {
        let mut simulation = Simulation::quiet(voters, 0, 1);
        let leader = formed(&mut simulation);
        assert_eq!(leader, voters);
        let node = simulation.node(leader).unwrap();
        assert_eq!(node.zab().current_epoch, 1);
        assert_eq!(node.zab().accepted_epoch, 1);
        for sid in 1..voters {
            assert_eq!(syncs_of(&simulation, sid, 0), ["DIFF"]);
            assert_eq!(simulation.node(sid).unwrap().state(), ServerState::Following);
        }
    }
}

#[test]
fn a_follower_back_after_a_few_writes_gets_a_diff_and_after_many_a_snap() {
    // snap.phases.txt: back after 300 txns with commitLogCount=100, snapshotSizeFactor=-1 → SNAP.
    let mut simulation = Simulation::quiet(3, 0, 2);
    simulation.set_sync_knobs(100, false);
    let leader = formed(&mut simulation);
    simulation.write(22);
    simulation.run_for(500);
    let follower = if leader == 1 { 2 } else { 1 };
    simulation.crash(follower);
    simulation.write(10);
    simulation.run_for(500);
    let mark = simulation.sync_log.len();
    simulation.restart(follower);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(syncs_of(&simulation, follower, mark), ["DIFF"]);

    simulation.crash(follower);
    simulation.write(300);
    simulation.run_for(1_000);
    let mark = simulation.sync_log.len();
    simulation.restart(follower);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(syncs_of(&simulation, follower, mark), ["SNAP"]);
    assert_eq!(simulation.applied(follower), simulation.applied(leader));
}

#[test]
fn with_txn_log_sync_an_older_follower_is_diffed_from_the_log_not_snapped() {
    let mut simulation = Simulation::quiet(3, 0, 3);
    simulation.set_sync_knobs(100, true);
    let leader = formed(&mut simulation);
    let follower = if leader == 1 { 2 } else { 1 };
    // The follower must hold a txn the leader's log still has: a log starting above the
    // follower's last zxid cannot serve a DIFF (Java's getProposalsFromTxnLog).
    simulation.write(5);
    simulation.run_for(500);
    simulation.crash(follower);
    simulation.write(300);
    simulation.run_for(1_000);
    let mark = simulation.sync_log.len();
    simulation.restart(follower);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(syncs_of(&simulation, follower, mark), ["DIFF"]);
    assert_eq!(simulation.applied(follower).len(), 305);
}

#[test]
fn a_follower_behind_a_leader_snapshot_with_no_log_left_gets_a_snap() {
    let mut simulation = Simulation::quiet(3, 0, 4);
    let leader = formed(&mut simulation);
    let follower = if leader == 1 { 2 } else { 1 };
    simulation.crash(follower);
    simulation.write(20);
    simulation.run_for(500);
    simulation.snapshot_now(leader);
    let mark = simulation.sync_log.len();
    simulation.restart(follower);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(syncs_of(&simulation, follower, mark), ["SNAP"]);
}

#[test]
fn a_killed_leader_whose_last_proposal_reached_nobody_is_truncated_when_it_rejoins() {
    let mut simulation = Simulation::quiet(3, 0, 5);
    let old = formed(&mut simulation);
    simulation.write(5);
    simulation.run_for(500);
    // The leader logs a proposal nobody else sees, then dies.
    simulation.isolate(old);
    simulation.write(1);
    simulation.run_for(20);
    let orphan = simulation.node(old).unwrap().zab().history.last_zxid();
    assert_eq!(orphan.counter(), 6);
    simulation.crash(old);
    simulation.heal();
    assert!(simulation.run_until_true(20_000, |s| s.leader().is_some()), "{}", simulation.describe());
    let new = simulation.leader().unwrap();
    assert_ne!(new, old);
    let mark = simulation.sync_log.len();
    simulation.restart(old);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    // The new leader has 5 txns of the old epoch and none of its own: TRUNC to the 5th.
    assert_eq!(syncs_of(&simulation, old, mark), ["TRUNC"]);
    let node = simulation.node(old).unwrap();
    assert!(node.zab().history.get(orphan).is_none());
    assert_eq!(simulation.applied(old).len(), 5);
}

#[test]
fn a_killed_leader_whose_proposal_was_logged_by_the_followers_finds_it_committed_by_the_next_leader() {
    // inflight-proposal.phases.txt: the old leader expected a TRUNC but got a DIFF, because the
    // followers had logged its last proposal; the new leader commits it in the new epoch.
    let mut simulation = Simulation::quiet(3, 0, 6);
    let old = formed(&mut simulation);
    simulation.write(5);
    simulation.run_for(500);
    simulation.write(1);
    // Long enough for the followers to log it (network ≤ 6 ms, fsync ≤ 3 ms).
    simulation.run_for(15);
    simulation.crash(old);
    assert!(simulation.run_until_true(20_000, |s| s.leader().is_some()), "{}", simulation.describe());
    let new = simulation.leader().unwrap();
    let mark = simulation.sync_log.len();
    simulation.restart(old);
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(syncs_of(&simulation, old, mark), ["DIFF"]);
    assert_eq!(simulation.applied(new).len(), 6);
    assert_eq!(simulation.applied(old), simulation.applied(new));
    assert_eq!(simulation.node(new).unwrap().zab().current_epoch, 2);
    assert_eq!(simulation.applied(new)[5].zxid, Zxid::new(1, 6));
}

#[test]
fn a_leader_cut_off_from_its_quorum_stops_serving_and_the_rest_elect_a_new_epoch() {
    let mut simulation = Simulation::quiet(5, 0, 7);
    let old = formed(&mut simulation);
    simulation.write(3);
    simulation.run_for(300);
    simulation.isolate(old);
    // syncLimit (5 ticks of 200 ms) later the old leader gives up; the others elect.
    assert!(
        simulation.run_until_true(20_000, |s| !s.node(old).unwrap().is_serving() && s.leader().is_some()),
        "{}",
        simulation.describe()
    );
    let new = simulation.leader().unwrap();
    assert_ne!(new, old);
    assert_eq!(simulation.node(new).unwrap().zab().current_epoch, 2);
    simulation.write(2);
    simulation.heal();
    assert!(simulation.run_until_true(20_000, |s| s.converged()), "{}", simulation.describe());
    assert_eq!(simulation.applied(old).len(), 5);
}

#[test]
fn an_observer_syncs_gets_informs_and_never_counts_for_the_quorum() {
    let mut simulation = Simulation::quiet(3, 1, 8);
    let leader = formed(&mut simulation);
    assert_eq!(simulation.node(4).unwrap().state(), ServerState::Observing);
    simulation.write(10);
    assert!(
        simulation.run_until_true(5_000, |s| s.converged() && s.applied(4).len() == 10),
        "{}",
        simulation.describe()
    );
    // With both followers gone the observer cannot keep the leader's quorum.
    let followers: Vec<u64> = (1..=3).filter(|&s| s != leader).collect();
    for &follower in &followers {
        simulation.crash(follower);
    }
    assert!(
        simulation.run_until_true(10_000, |s| !s.node(leader).unwrap().is_serving()),
        "{}",
        simulation.describe()
    );
}
