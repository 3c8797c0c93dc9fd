//! Who votes and what a quorum is (`flexible/QuorumVerifier`), pluggable; [`QuorumMaj`] is the
//! default majority rule.

use crate::zxid::Sid;
use std::collections::BTreeSet;
use std::fmt::Debug;

/// Decides which sets of servers form a quorum. Observers are members with no vote.
pub trait QuorumVerifier: Debug + Send + Sync {
    /// The servers that vote (participants).
    fn voting_members(&self) -> &BTreeSet<Sid>;
    /// The observers (members that never vote).
    fn observing_members(&self) -> &BTreeSet<Sid>;
    /// A server's weight; 0 for observers and strangers (FLE never elects a weight-0 server).
    fn weight(&self, sid: Sid) -> u64;
    /// True when `acks` contains a quorum (`containsQuorum`).
    fn contains_quorum(&self, acks: &BTreeSet<Sid>) -> bool;
    /// True for a voting member.
    fn is_voter(&self, sid: Sid) -> bool {
        self.voting_members().contains(&sid)
    }
    /// True for any member, voting or observing.
    fn is_member(&self, sid: Sid) -> bool {
        self.is_voter(sid) || self.observing_members().contains(&sid)
    }
}

/// `QuorumMaj`: strictly more than half of the voting members; observers never count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumMaj {
    voters: BTreeSet<Sid>,
    observers: BTreeSet<Sid>,
}

impl QuorumMaj {
    /// A majority verifier over `voters`, with `observers` as non-voting members.
    pub fn new(voters: impl IntoIterator<Item = Sid>, observers: impl IntoIterator<Item = Sid>) -> QuorumMaj {
        let voters: BTreeSet<Sid> = voters.into_iter().collect();
        let observers: BTreeSet<Sid> = observers.into_iter().collect();
        assert!(!voters.is_empty(), "a quorum needs at least one voter");
        assert!(voters.is_disjoint(&observers), "a server is either a participant or an observer");
        QuorumMaj { voters, observers }
    }
}

impl QuorumVerifier for QuorumMaj {
    fn voting_members(&self) -> &BTreeSet<Sid> {
        &self.voters
    }
    fn observing_members(&self) -> &BTreeSet<Sid> {
        &self.observers
    }
    fn weight(&self, sid: Sid) -> u64 {
        u64::from(self.voters.contains(&sid))
    }
    fn contains_quorum(&self, acks: &BTreeSet<Sid>) -> bool {
        let votes = acks.iter().filter(|sid| self.voters.contains(sid)).count();
        votes > self.voters.len() / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quorum_is_strictly_more_than_half_of_the_voters_and_observers_never_count() {
        let q = QuorumMaj::new([1, 2, 3, 4], [5, 6]);
        assert!(!q.contains_quorum(&[1, 2].into()));
        assert!(!q.contains_quorum(&[1, 2, 5, 6].into()));
        assert!(q.contains_quorum(&[1, 2, 3].into()));
        let q = QuorumMaj::new([1, 2, 3], []);
        assert!(q.contains_quorum(&[1, 3].into()));
        assert!(!q.contains_quorum(&[3, 9].into()));
        assert_eq!(q.weight(9), 0);
    }
}
