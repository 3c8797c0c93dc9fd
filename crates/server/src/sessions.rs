//! Session expiry by tick buckets, as Java's SessionTrackerImpl / ExpiryQueue: a session's deadline
//! is rounded up to the next multiple of tickTime, so expiry happens in [timeout, timeout + tick).

use foldhash::{HashMap, HashMapExt, HashSet};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct SessionEntry {
    pub timeout_ms: i32,
    /// The bucket (ms since server start, a multiple of tick) this session expires in.
    pub expires_at_ms: u64,
    /// Set once expiry or closeSession started; a closing session is not touched nor revived.
    pub closing: bool,
}

#[derive(Debug)]
pub struct SessionTracker {
    tick_ms: u64,
    sessions: HashMap<i64, SessionEntry>,
    buckets: BTreeMap<u64, HashSet<i64>>,
}

impl SessionTracker {
    pub fn new(tick_ms: u64) -> Self {
        SessionTracker { tick_ms: tick_ms.max(1), sessions: HashMap::new(), buckets: BTreeMap::new() }
    }

    fn bucket_for(&self, now_ms: u64, timeout_ms: i32) -> u64 {
        let deadline = now_ms + timeout_ms.max(0) as u64;
        (deadline / self.tick_ms + 1) * self.tick_ms
    }

    /// Starts tracking a session (new, or loaded back from disk).
    pub fn add(&mut self, session_id: i64, timeout_ms: i32, now_ms: u64) {
        let expires_at_ms = self.bucket_for(now_ms, timeout_ms);
        if let Some(old) =
            self.sessions.insert(session_id, SessionEntry { timeout_ms, expires_at_ms, closing: false })
        {
            self.unbucket(session_id, old.expires_at_ms);
        }
        self.buckets.entry(expires_at_ms).or_default().insert(session_id);
    }

    fn unbucket(&mut self, session_id: i64, bucket: u64) {
        if let Some(set) = self.buckets.get_mut(&bucket) {
            set.remove(&session_id);
            if set.is_empty() {
                self.buckets.remove(&bucket);
            }
        }
    }

    /// Pushes the deadline out; false if the session is unknown or closing.
    pub fn touch(&mut self, session_id: i64, now_ms: u64) -> bool {
        let Some(entry) = self.sessions.get(&session_id) else { return false };
        if entry.closing {
            return false;
        }
        let new_bucket = self.bucket_for(now_ms, entry.timeout_ms);
        let old_bucket = entry.expires_at_ms;
        if new_bucket != old_bucket {
            self.unbucket(session_id, old_bucket);
            self.buckets.entry(new_bucket).or_default().insert(session_id);
            if let Some(entry) = self.sessions.get_mut(&session_id) {
                entry.expires_at_ms = new_bucket;
            }
        }
        true
    }

    /// True if the session exists and is not closing.
    pub fn is_live(&self, session_id: i64) -> bool {
        self.sessions.get(&session_id).is_some_and(|entry| !entry.closing)
    }

    pub fn get(&self, session_id: i64) -> Option<&SessionEntry> {
        self.sessions.get(&session_id)
    }

    /// Marks a session closing (its closeSession txn is on its way).
    pub fn set_closing(&mut self, session_id: i64) {
        if let Some(entry) = self.sessions.get_mut(&session_id) {
            entry.closing = true;
        }
    }

    pub fn remove(&mut self, session_id: i64) {
        if let Some(entry) = self.sessions.remove(&session_id) {
            self.unbucket(session_id, entry.expires_at_ms);
        }
    }

    /// Sessions whose bucket has passed; they are marked closing and returned once.
    pub fn take_expired(&mut self, now_ms: u64) -> Vec<i64> {
        let mut expired = Vec::new();
        while let Some((&bucket, _)) = self.buckets.first_key_value() {
            if bucket > now_ms {
                break;
            }
            if let Some(set) = self.buckets.remove(&bucket) {
                for session_id in set {
                    if let Some(entry) = self.sessions.get_mut(&session_id) {
                        if !entry.closing {
                            entry.closing = true;
                            expired.push(session_id);
                        }
                    }
                }
            }
        }
        expired.sort_unstable();
        expired
    }

    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Sessions grouped by expiry bucket, for the `dump` word.
    pub fn buckets(&self) -> impl Iterator<Item = (u64, &HashSet<i64>)> {
        self.buckets.iter().map(|(bucket, set)| (*bucket, set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_expires_within_one_tick_after_its_timeout() {
        let mut tracker = SessionTracker::new(2000);
        tracker.add(7, 4000, 1000);
        assert!(tracker.take_expired(4999).is_empty());
        let expired = tracker.take_expired(6000);
        assert_eq!(expired, vec![7]);
        assert!(!tracker.is_live(7));
        assert!(tracker.take_expired(100_000).is_empty(), "reported once");
    }

    #[test]
    fn touching_pushes_expiry_out_but_not_for_a_closing_session() {
        let mut tracker = SessionTracker::new(1000);
        tracker.add(1, 3000, 0);
        assert!(tracker.touch(1, 2500));
        assert!(tracker.take_expired(4000).is_empty());
        assert_eq!(tracker.take_expired(6000), vec![1]);
        assert!(!tracker.touch(1, 6000));
    }
}
