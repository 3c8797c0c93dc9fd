//! The settings the core needs, in the units zoo.cfg uses (parsing zoo.cfg is the driver's job).

use crate::quorum::QuorumVerifier;
use crate::zxid::Sid;
use bytes::Bytes;
use std::sync::Arc;

/// A server's quorum settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// This server's id (the `myid` file).
    pub my_id: Sid,
    /// Who votes and what a quorum is.
    pub quorum: Arc<dyn QuorumVerifier>,
    /// `tickTime` in milliseconds.
    pub tick_ms: u64,
    /// `initLimit` in ticks: how long discovery and sync may take.
    pub init_limit: u64,
    /// `syncLimit` in ticks: how long a learner may stay silent once synced.
    pub sync_limit: u64,
    /// FLE `finalizeWait` (200 ms in Java): how long a decided vote waits for a better one.
    pub finalize_wait_ms: u64,
    /// FLE `minNotificationInterval` (= finalizeWait in Java): the first retransmit timeout.
    pub min_notification_interval_ms: u64,
    /// FLE `maxNotificationInterval` (60 s in Java): the retransmit timeout's ceiling.
    pub max_notification_interval_ms: u64,
    /// `commitLogCount` (500): committed txns the leader keeps in memory for DIFF.
    pub commit_log_count: usize,
    /// `snapshotSizeFactor >= 0`: whether the leader may DIFF from its txn log beyond the
    /// committed log (from whatever history it retains; the driver keeps that within the size
    /// limit, [`Config::snapshot_size_factor`]).
    pub txn_log_sync: bool,
    /// `snapshotSizeFactor`: Java's leader syncs a learner from its txn log only while the txns
    /// to send weigh at most this share of its snapshot, and SNAPs otherwise; the driver keeps
    /// no more history in memory than that could use (beyond the commit log).
    pub snapshot_size_factor: f64,
    /// The pause between a learner's attempts to connect to the leader it elected (Java 3.8:
    /// `zookeeper.leaderConnectDelayDuringRetryMs`, 100 ms; 1 s before 3.6). After five refused
    /// attempts, or initLimit, it elects again.
    pub connect_retry_ms: u64,
    /// The config text sent in notifications and NEWLEADER (`server.N=…\nversion=…`).
    pub config_text: Bytes,
}

impl Config {
    /// Java's defaults for a server `my_id` of `quorum` (tickTime 2000, initLimit 10, syncLimit 5).
    pub fn new(my_id: Sid, quorum: Arc<dyn QuorumVerifier>) -> Config {
        Config {
            my_id,
            quorum,
            tick_ms: 2000,
            init_limit: 10,
            sync_limit: 5,
            finalize_wait_ms: 200,
            min_notification_interval_ms: 200,
            max_notification_interval_ms: 60_000,
            commit_log_count: 500,
            txn_log_sync: true,
            snapshot_size_factor: 0.33,
            connect_retry_ms: 1000,
            config_text: Bytes::new(),
        }
    }

    /// True when this server votes.
    pub fn is_participant(&self) -> bool {
        self.quorum.is_voter(self.my_id)
    }

    pub(crate) fn init_ms(&self) -> u64 {
        self.tick_ms * self.init_limit
    }

    pub(crate) fn sync_ms(&self) -> u64 {
        self.tick_ms * self.sync_limit
    }
}
