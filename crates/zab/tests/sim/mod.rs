//! A deterministic simulation of a Zab ensemble: the real [`zab::Node`] cores in one process,
//! a seeded scheduler in virtual time, a network that drops, delays, duplicates and reorders
//! election messages and breaks quorum connections (which are FIFO while they live, like TCP),
//! partitions, and crashes that lose whatever was not fsynced yet.
//!
//! Invariants are checked as the run goes (see [`Checker`]); the run ends with a fault-free
//! phase in which a leader must emerge and every server must converge.

#![allow(dead_code)]

use bytes::Bytes;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;
use zab::{
    Config, Event, Message, Node, Persist, QuorumMaj, QuorumMessage, Ready, Restored, ServerState, Sid, Txn,
    Waiting, Zxid,
};

/// SplitMix64: tiny, seedable, good enough for scheduling decisions.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    pub fn range(&mut self, low: u64, high: u64) -> u64 {
        low + self.below(high - low + 1)
    }
    pub fn chance(&mut self, per_million: u64) -> bool {
        self.below(1_000_000) < per_million
    }
}

/// How hostile a run is.
#[derive(Debug, Clone)]
pub struct Faults {
    pub election_drop_ppm: u64,
    pub election_duplicate_ppm: u64,
    pub quorum_break_ppm: u64,
    pub delay_ms_max: u64,
    /// Upper bound of an fsync's latency: what a crash can lose.
    pub fsync_ms_max: u64,
    pub crash_every_ms: u64,
    pub partition_every_ms: u64,
}

#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub voters: u64,
    pub observers: u64,
    pub chaos_ms: u64,
    pub liveness_ms: u64,
    pub client_every_ms: u64,
    pub faults: Faults,
    pub commit_log_count: usize,
    pub txn_log_sync: bool,
    pub snapshot_every: usize,
    /// Servers start at random times within this window.
    pub stagger_start_ms: u64,
}

impl SimConfig {
    /// A configuration drawn from the seed.
    pub fn from_seed(seed: u64) -> SimConfig {
        let mut rng = Rng::new(seed.wrapping_mul(31).wrapping_add(7));
        let voters = if rng.chance(500_000) { 3 } else { 5 };
        let observers = if rng.chance(250_000) { 1 } else { 0 };
        SimConfig {
            seed,
            voters,
            observers,
            chaos_ms: 8_000,
            liveness_ms: 30_000,
            client_every_ms: rng.range(5, 60),
            faults: Faults {
                election_drop_ppm: rng.range(0, 200_000),
                election_duplicate_ppm: rng.range(0, 100_000),
                quorum_break_ppm: rng.range(0, 20_000),
                delay_ms_max: rng.range(2, 40),
                fsync_ms_max: rng.range(1, 30),
                crash_every_ms: rng.range(300, 3_000),
                partition_every_ms: rng.range(500, 5_000),
            },
            commit_log_count: rng.range(2, 40) as usize,
            txn_log_sync: rng.chance(500_000),
            snapshot_every: rng.range(5, 60) as usize,
            stagger_start_ms: 300,
        }
    }
}

/// A server's disk: what survives a crash.
#[derive(Debug, Clone, Default)]
struct Disk {
    accepted_epoch: u32,
    current_epoch: u32,
    snapshot: Vec<Txn>,
    snapshot_zxid: Zxid,
    log: Vec<Txn>,
}

#[derive(Debug)]
struct Server {
    node: Option<Node>,
    disk: Disk,
    /// The data tree: the txns applied, in order (volatile).
    applied: Vec<Txn>,
    applied_zxid: Zxid,
    /// Ready batches written but not fsynced yet, completed in order.
    pending: Vec<Waiting>,
    /// Incarnation, so that events for a crashed incarnation are ignored.
    incarnation: u64,
}

#[derive(Debug, Clone)]
enum SimEvent {
    Deliver { from: Sid, to: Sid, message: Message, generation: Option<u64> },
    Disconnected { at: Sid, peer: Sid, generation: u64 },
    FsyncDone { server: Sid, incarnation: u64 },
    Tick { server: Sid, incarnation: u64 },
    Client,
    Crash,
    Restart { server: Sid },
    Partition,
    Heal,
}

/// Checks Zab's properties over the whole run.
#[derive(Debug, Default)]
pub struct Checker {
    /// At most one established leader per epoch.
    established: BTreeMap<u32, Sid>,
    /// The one sequence every server's applied txns are a prefix of.
    global: Vec<Txn>,
    /// Every proposal made, by zxid (primary order: a zxid names exactly one txn).
    proposals: BTreeMap<Zxid, Bytes>,
    pub protocol_errors: Vec<String>,
}

impl Checker {
    fn established(&mut self, epoch: u32, leader: Sid) {
        if let Some(&other) = self.established.get(&epoch) {
            assert_eq!(other, leader, "two established leaders ({other}, {leader}) in epoch {epoch}");
        }
        self.established.insert(epoch, leader);
    }

    fn proposed(&mut self, txn: &Txn) {
        let epoch = txn.zxid.epoch();
        assert!(
            self.established.contains_key(&epoch),
            "proposal {:?} in an epoch nobody established",
            txn.zxid
        );
        if let Some(previous) = self.proposals.insert(txn.zxid, txn.data.clone()) {
            panic!("zxid {:?} proposed twice ({previous:?} then {:?})", txn.zxid, txn.data);
        }
    }

    /// A server applied `txn` as its `index`-th txn.
    fn applied(&mut self, server: Sid, index: usize, txn: &Txn) {
        assert_eq!(
            self.proposals.get(&txn.zxid),
            Some(&txn.data),
            "server {server} applied {:?} that no leader proposed as such",
            txn.zxid
        );
        if index < self.global.len() {
            assert_eq!(
                &self.global[index], txn,
                "server {server} applied {:?} at position {index}, the sequence has {:?}",
                txn.zxid, self.global[index].zxid
            );
        } else {
            assert_eq!(index, self.global.len(), "server {server} skipped txns");
            if let Some(last) = self.global.last() {
                assert!(last.zxid < txn.zxid, "zxids out of order: {:?} then {:?}", last.zxid, txn.zxid);
            }
            self.global.push(txn.clone());
        }
    }

    /// A server's whole applied state was replaced (restart or SNAP): it must be a prefix.
    fn state_replaced(&mut self, server: Sid, applied: &[Txn]) {
        for (index, txn) in applied.iter().enumerate() {
            self.applied(server, index, txn);
        }
    }

    pub fn committed(&self) -> usize {
        self.global.len()
    }
}

pub struct Simulation {
    pub config: SimConfig,
    rng: Rng,
    now_ms: u64,
    sequence: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize)>>,
    events: Vec<Option<SimEvent>>,
    servers: BTreeMap<Sid, Server>,
    zab_config: BTreeMap<Sid, Config>,
    /// Quorum connection generation per unordered pair, and each side's view of it.
    generation: BTreeMap<(Sid, Sid), u64>,
    known: BTreeMap<(Sid, Sid), u64>,
    /// FIFO: the time the last quorum message on (from, to) is delivered.
    fifo_tail: BTreeMap<(Sid, Sid), u64>,
    fsync_tail: BTreeMap<Sid, u64>,
    /// `ZAB_SIM_TRACE=1`: print every event (use with `ZAB_SIM_SEED`).
    trace: bool,
    events_run: u64,
    partition: Option<BTreeSet<Sid>>,
    faults_on: bool,
    clients_on: bool,
    next_client: u64,
    /// Every DIFF / TRUNC / SNAP sent: (learner, kind).
    pub sync_log: Vec<(Sid, &'static str)>,
    pub checker: Checker,
    pub stats: BTreeMap<&'static str, u64>,
}

fn pair(a: Sid, b: Sid) -> (Sid, Sid) {
    (a.min(b), a.max(b))
}

fn encode_snapshot(applied: &[Txn]) -> Bytes {
    let mut out = Vec::new();
    for txn in applied {
        out.extend_from_slice(&txn.zxid.0.to_be_bytes());
        out.extend_from_slice(&(txn.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&txn.data);
    }
    Bytes::from(out)
}

fn decode_snapshot(bytes: &[u8]) -> Vec<Txn> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let zxid = i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap());
        let len = u32::from_be_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push(Txn { zxid: Zxid(zxid), data: Bytes::copy_from_slice(&bytes[at + 12..at + 12 + len]) });
        at += 12 + len;
    }
    out
}

impl Simulation {
    pub fn new(config: SimConfig) -> Simulation {
        let rng = Rng::new(config.seed);
        let voters: Vec<Sid> = (1..=config.voters).collect();
        let observers: Vec<Sid> = (config.voters + 1..=config.voters + config.observers).collect();
        let quorum = Arc::new(QuorumMaj::new(voters.iter().copied(), observers.iter().copied()));
        let mut zab_config = BTreeMap::new();
        for &sid in voters.iter().chain(observers.iter()) {
            let mut c = Config::new(sid, quorum.clone());
            c.tick_ms = 200;
            c.init_limit = 10;
            c.sync_limit = 5;
            c.max_notification_interval_ms = 2_000;
            c.connect_retry_ms = 200;
            c.commit_log_count = config.commit_log_count;
            c.txn_log_sync = config.txn_log_sync;
            zab_config.insert(sid, c);
        }
        let mut sim = Simulation {
            config,
            rng,
            now_ms: 0,
            sequence: 0,
            queue: BinaryHeap::new(),
            events: Vec::new(),
            servers: BTreeMap::new(),
            zab_config,
            generation: BTreeMap::new(),
            known: BTreeMap::new(),
            fifo_tail: BTreeMap::new(),
            fsync_tail: BTreeMap::new(),
            trace: std::env::var_os("ZAB_SIM_TRACE").is_some(),
            events_run: 0,
            partition: None,
            faults_on: true,
            clients_on: true,
            next_client: 0,
            sync_log: Vec::new(),
            checker: Checker::default(),
            stats: BTreeMap::new(),
        };
        let sids: Vec<Sid> = sim.zab_config.keys().copied().collect();
        for sid in sids {
            sim.servers.insert(
                sid,
                Server {
                    node: None,
                    disk: Disk::default(),
                    applied: Vec::new(),
                    applied_zxid: Zxid::ZERO,
                    pending: Vec::new(),
                    incarnation: 0,
                },
            );
            let start = sim.rng.range(0, sim.config.stagger_start_ms);
            sim.schedule(start, SimEvent::Restart { server: sid });
        }
        let first_client = sim.config.client_every_ms;
        sim.schedule(first_client, SimEvent::Client);
        let crash = sim.config.faults.crash_every_ms;
        sim.schedule(crash, SimEvent::Crash);
        let partition = sim.config.faults.partition_every_ms;
        sim.schedule(partition, SimEvent::Partition);
        sim
    }

    fn bump(&mut self, stat: &'static str) {
        *self.stats.entry(stat).or_default() += 1;
    }

    fn schedule(&mut self, delay_ms: u64, event: SimEvent) {
        self.sequence += 1;
        let index = self.events.len();
        self.events.push(Some(event));
        self.queue.push(Reverse((self.now_ms + delay_ms, self.sequence, index)));
    }

    fn up(&self, sid: Sid) -> bool {
        self.servers[&sid].node.is_some()
    }

    fn reachable(&self, a: Sid, b: Sid) -> bool {
        match &self.partition {
            Some(side) => side.contains(&a) == side.contains(&b),
            None => true,
        }
    }

    fn generation(&self, a: Sid, b: Sid) -> u64 {
        self.generation.get(&pair(a, b)).copied().unwrap_or(0)
    }

    /// Break the quorum connection between a and b: in-flight messages die, both sides learn.
    fn break_connection(&mut self, a: Sid, b: Sid, tell: &[Sid]) {
        let generation = self.generation(a, b) + 1;
        self.generation.insert(pair(a, b), generation);
        for &side in tell {
            let peer = if side == a { b } else { a };
            self.schedule(1, SimEvent::Disconnected { at: side, peer, generation });
        }
    }

    fn send(&mut self, from: Sid, to: Sid, message: Message) {
        self.bump("messages");
        match message {
            Message::Election(_) => {
                if !self.reachable(from, to) {
                    return;
                }
                if self.faults_on && self.rng.chance(self.config.faults.election_drop_ppm) {
                    return;
                }
                let copies = if self.faults_on && self.rng.chance(self.config.faults.election_duplicate_ppm) {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    let delay = self.rng.range(1, self.config.faults.delay_ms_max);
                    self.schedule(
                        delay,
                        SimEvent::Deliver { from, to, message: message.clone(), generation: None },
                    );
                }
            }
            Message::Quorum(mut quorum) => {
                let key = pair(from, to);
                let known = self.known.get(&(from, to)).copied().unwrap_or(0);
                let current = self.generation.get(&key).copied().unwrap_or(0);
                if known != current {
                    // Sent on a connection that already died.
                    return;
                }
                if !self.reachable(from, to) {
                    return;
                }
                if self.faults_on && self.rng.chance(self.config.faults.quorum_break_ppm) {
                    self.bump("connection breaks");
                    self.break_connection(from, to, &[from, to]);
                    return;
                }
                if let QuorumMessage::Snap { zxid, snapshot } = &mut quorum {
                    let server = &self.servers[&from];
                    assert_eq!(server.applied_zxid, *zxid, "leader's tree is not at the SNAP zxid");
                    *snapshot = encode_snapshot(&server.applied);
                }
                let kind = match &quorum {
                    QuorumMessage::Diff { .. } => Some("DIFF"),
                    QuorumMessage::Trunc { .. } => Some("TRUNC"),
                    QuorumMessage::Snap { .. } => Some("SNAP"),
                    _ => None,
                };
                if let Some(kind) = kind {
                    self.bump(kind);
                    self.sync_log.push((to, kind));
                }
                let delay = self.rng.range(1, self.config.faults.delay_ms_max) + 1;
                let tail = self.fifo_tail.get(&(from, to)).copied().unwrap_or(0);
                let at = (self.now_ms + delay).max(tail);
                self.fifo_tail.insert((from, to), at);
                self.schedule(
                    at - self.now_ms,
                    SimEvent::Deliver {
                        from,
                        to,
                        message: Message::Quorum(quorum),
                        generation: Some(current),
                    },
                );
            }
        }
    }

    /// A Ready from `sid`'s core: persists are written now and fsynced after a disk delay; the
    /// rest waits for the fsync.
    fn handle_ready(&mut self, sid: Sid, mut ready: Ready) {
        // Early messages (a leader's PROPOSALs) leave before this batch's fsync: a crash before
        // it completes leaves the txn on followers only, which the checks must survive.
        let early = ready.release_early(self.servers.get_mut(&sid).unwrap().pending.iter_mut());
        for outgoing in early {
            if self.up(outgoing.to) || matches!(outgoing.message, Message::Quorum(_)) {
                self.send(sid, outgoing.to, outgoing.message);
            }
        }
        if ready.is_empty() {
            self.reschedule_tick(sid);
            return;
        }
        for event in &ready.events {
            if let Event::Established { epoch } = event {
                // The core serves from now on (proposals may follow before this batch is durable).
                self.checker.established(*epoch, sid);
            }
        }
        let server = self.servers.get_mut(&sid).unwrap();
        // As the server's driver does: a batch with nothing to persist joins the waiting one.
        let ready = match server.pending.last_mut() {
            Some(back) => match back.absorb(ready) {
                Ok(()) => {
                    self.bump("batches joined");
                    return self.reschedule_tick(sid);
                }
                Err(ready) => ready,
            },
            _ => ready,
        };
        let server = self.servers.get_mut(&sid).unwrap();
        server.pending.push(Waiting::new(ready));
        let incarnation = server.incarnation;
        // Batches complete in order, each after its own fsync latency.
        let delay = self.rng.range(0, self.config.faults.fsync_ms_max);
        let at = (self.now_ms + delay).max(self.fsync_tail.get(&sid).copied().unwrap_or(0));
        self.fsync_tail.insert(sid, at);
        self.schedule(at - self.now_ms, SimEvent::FsyncDone { server: sid, incarnation });
        self.reschedule_tick(sid);
    }

    fn reschedule_tick(&mut self, sid: Sid) {
        let server = &self.servers[&sid];
        if let Some(node) = &server.node {
            if let Some(deadline) = node.next_deadline_ms() {
                let incarnation = server.incarnation;
                let delay = deadline.saturating_sub(self.now_ms).max(1);
                self.schedule(delay, SimEvent::Tick { server: sid, incarnation });
            }
        }
    }

    fn fsync_done(&mut self, sid: Sid) {
        let server = self.servers.get_mut(&sid).unwrap();
        if server.pending.is_empty() {
            return;
        }
        let ready = server.pending.remove(0).into_ready();
        for persist in &ready.persist {
            match persist {
                Persist::AcceptedEpoch(epoch) => server.disk.accepted_epoch = *epoch,
                Persist::CurrentEpoch(epoch) => server.disk.current_epoch = *epoch,
                Persist::Append(txn) => {
                    assert!(server.disk.log.last().map_or(server.disk.snapshot_zxid, |t| t.zxid) < txn.zxid);
                    server.disk.log.push(txn.clone());
                }
                Persist::Truncate(zxid) => {
                    assert!(*zxid >= server.applied_zxid, "server {sid} truncates below what it applied");
                    server.disk.log.retain(|txn| txn.zxid <= *zxid);
                }
                Persist::InstallSnapshot { zxid, snapshot } => {
                    let state = decode_snapshot(snapshot);
                    assert_eq!(
                        state.last().map_or(Zxid::ZERO, |t| t.zxid).max(Zxid::ZERO),
                        state.last().map_or(Zxid::ZERO, |t| t.zxid)
                    );
                    server.applied = state.clone();
                    server.applied_zxid = *zxid;
                    server.disk.snapshot = state;
                    server.disk.snapshot_zxid = *zxid;
                    server.disk.log.clear();
                    let applied = server.applied.clone();
                    self.checker.state_replaced(sid, &applied);
                }
            }
        }
        let server = self.servers.get_mut(&sid).unwrap();
        for txn in &ready.apply {
            assert!(
                txn.zxid > server.applied_zxid,
                "server {sid} applies {:?} after {:?}",
                txn.zxid,
                server.applied_zxid
            );
            let index = server.applied.len();
            server.applied.push(txn.clone());
            server.applied_zxid = txn.zxid;
            self.checker.applied(sid, index, txn);
        }
        let mut established = false;
        for event in &ready.events {
            match event {
                Event::Established { .. } => {
                    established = true;
                    self.bump("established");
                }
                Event::ProtocolError { peer, reason } => {
                    self.checker.protocol_errors.push(format!("{sid} ← {peer}: {reason}"));
                }
                _ => {}
            }
        }
        if established {
            // No committed txn lost: the new leader's state holds the whole committed sequence.
            let server = &self.servers[&sid];
            assert!(
                server.applied.len() >= self.checker.global.len(),
                "leader {sid} established with {} txns, {} were committed",
                server.applied.len(),
                self.checker.global.len()
            );
        }
        for outgoing in ready.messages {
            if self.up(outgoing.to) || matches!(outgoing.message, Message::Quorum(_)) {
                self.send(sid, outgoing.to, outgoing.message);
            }
        }
        for event in ready.events {
            match event {
                Event::CloseConnection(peer) => {
                    let generation = self.generation(sid, peer) + 1;
                    self.generation.insert(pair(sid, peer), generation);
                    self.known.insert((sid, peer), generation);
                    self.schedule(1, SimEvent::Disconnected { at: peer, peer: sid, generation });
                }
                Event::Request { request, .. } => {
                    self.propose_at(sid, request);
                }
                _ => {}
            }
        }
        self.maybe_snapshot(sid);
    }

    fn maybe_snapshot(&mut self, sid: Sid) {
        let every = self.config.snapshot_every;
        let server = self.servers.get_mut(&sid).unwrap();
        if server.applied.len() < server.disk.snapshot.len() + every {
            return;
        }
        let zxid = server.applied_zxid;
        server.disk.snapshot = server.applied.clone();
        server.disk.snapshot_zxid = zxid;
        server.disk.log.retain(|txn| txn.zxid > zxid);
        if let Some(node) = server.node.as_mut() {
            node.compact(zxid);
        }
        self.bump("snapshots");
    }

    pub fn propose_at(&mut self, sid: Sid, data: Bytes) {
        let Some(node) = self.servers.get_mut(&sid).unwrap().node.as_mut() else { return };
        let now = self.now_ms;
        if let Ok((zxid, ready)) = node.propose(now, |_| data.clone()) {
            self.checker.proposed(&Txn { zxid, data: data.clone() });
            self.bump("proposals");
            self.handle_ready(sid, ready);
        }
    }

    fn client(&mut self) {
        let sids: Vec<Sid> = self.servers.keys().copied().filter(|&s| self.up(s)).collect();
        if sids.is_empty() {
            return;
        }
        let sid = sids[self.rng.below(sids.len() as u64) as usize];
        self.next_client += 1;
        let data = Bytes::from(format!("c{}", self.next_client));
        let node = self.servers.get_mut(&sid).unwrap().node.as_mut().unwrap();
        if !node.is_serving() {
            return;
        }
        if node.state() == ServerState::Leading {
            self.propose_at(sid, data);
        } else if let Ok(ready) = node.forward_request(0, 0, 1, data, Vec::new()) {
            self.handle_ready(sid, ready);
        }
    }

    pub fn crash(&mut self, sid: Sid) {
        if !self.up(sid) {
            return;
        }
        self.bump("crashes");
        let server = self.servers.get_mut(&sid).unwrap();
        server.node = None;
        server.pending.clear();
        server.incarnation += 1;
        server.applied = server.disk.snapshot.clone();
        server.applied_zxid = server.disk.snapshot_zxid;
        let others: Vec<Sid> = self.servers.keys().copied().filter(|&s| s != sid).collect();
        for other in others {
            self.break_connection(sid, other, &[other]);
        }
    }

    pub fn restart(&mut self, sid: Sid) {
        let server = self.servers.get_mut(&sid).unwrap();
        if server.node.is_some() {
            return;
        }
        server.incarnation += 1;
        server.applied = server.disk.snapshot.clone();
        server.applied_zxid = server.disk.snapshot_zxid;
        let restored = Restored {
            accepted_epoch: server.disk.accepted_epoch,
            current_epoch: server.disk.current_epoch,
            snapshot_zxid: server.disk.snapshot_zxid,
            log: server.disk.log.clone(),
        };
        let applied = server.applied.clone();
        let (node, ready) = Node::new(self.zab_config[&sid].clone(), restored, self.now_ms);
        self.servers.get_mut(&sid).unwrap().node = Some(node);
        self.checker.state_replaced(sid, &applied);
        let others: Vec<Sid> = self.servers.keys().copied().filter(|&s| s != sid).collect();
        for other in others {
            let generation = self.generation(sid, other);
            self.known.insert((sid, other), generation);
        }
        self.handle_ready(sid, ready);
    }

    fn run_event(&mut self, event: SimEvent) {
        if self.trace {
            eprintln!("{:>7} {event:?}", self.now_ms);
        }
        match event {
            SimEvent::Deliver { from, to, message, generation } => {
                if !self.up(to) {
                    return;
                }
                if let Some(generation) = generation {
                    if generation != self.generation(from, to) {
                        return;
                    }
                    // The receiver sees a new connection; from now on its replies use it.
                    self.known.insert((to, from), generation);
                }
                let now = self.now_ms;
                let ready =
                    self.servers.get_mut(&to).unwrap().node.as_mut().unwrap().step(now, from, message);
                self.handle_ready(to, ready);
            }
            SimEvent::Disconnected { at, peer, generation } => {
                if !self.up(at) {
                    return;
                }
                let known = self.known.get(&(at, peer)).copied().unwrap_or(0);
                if known >= generation {
                    return;
                }
                self.known.insert((at, peer), generation);
                let now = self.now_ms;
                let ready = self.servers.get_mut(&at).unwrap().node.as_mut().unwrap().disconnected(now, peer);
                self.handle_ready(at, ready);
            }
            SimEvent::FsyncDone { server, incarnation } => {
                if self.servers[&server].incarnation == incarnation {
                    self.fsync_done(server);
                }
            }
            SimEvent::Tick { server, incarnation } => {
                if self.servers[&server].incarnation != incarnation || !self.up(server) {
                    return;
                }
                let node = self.servers[&server].node.as_ref().unwrap();
                if node.next_deadline_ms().is_some_and(|deadline| deadline > self.now_ms) {
                    return;
                }
                let now = self.now_ms;
                let ready = self.servers.get_mut(&server).unwrap().node.as_mut().unwrap().tick(now);
                self.handle_ready(server, ready);
            }
            SimEvent::Client => {
                if !self.faults_on || !self.clients_on {
                    // The liveness phase writes once, at the end.
                    return;
                }
                self.client();
                let next = self.rng.range(1, 2 * self.config.client_every_ms);
                self.schedule(next, SimEvent::Client);
            }
            SimEvent::Crash => {
                if !self.faults_on {
                    return;
                }
                let sids: Vec<Sid> = self.servers.keys().copied().collect();
                let victim = sids[self.rng.below(sids.len() as u64) as usize];
                self.crash(victim);
                let downtime = self.rng.range(10, 3_000);
                self.schedule(downtime, SimEvent::Restart { server: victim });
                let next = self.rng.range(1, 2 * self.config.faults.crash_every_ms);
                self.schedule(next, SimEvent::Crash);
            }
            SimEvent::Restart { server } => self.restart(server),
            SimEvent::Partition => {
                if !self.faults_on {
                    return;
                }
                let sids: Vec<Sid> = self.servers.keys().copied().collect();
                let side: BTreeSet<Sid> = sids.iter().copied().filter(|_| self.rng.chance(500_000)).collect();
                // Connections across the cut die (as their sockets time out).
                for &a in &sids {
                    for &b in &sids {
                        if a < b && side.contains(&a) != side.contains(&b) {
                            self.break_connection(a, b, &[a, b]);
                        }
                    }
                }
                self.partition = Some(side);
                self.bump("partitions");
                let heal = self.rng.range(100, 3_000);
                self.schedule(heal, SimEvent::Heal);
            }
            SimEvent::Heal => {
                self.partition = None;
                let next = self.rng.range(1, 2 * self.config.faults.partition_every_ms);
                self.schedule(next, SimEvent::Partition);
            }
        }
    }

    fn run_until(&mut self, until_ms: u64, mut stop: impl FnMut(&Simulation) -> bool) -> bool {
        let mut steps: u64 = 0;
        while let Some(Reverse((at, _, index))) = self.queue.peek().copied() {
            if at > until_ms {
                break;
            }
            self.queue.pop();
            self.now_ms = at;
            self.events_run += 1;
            assert!(
                self.events_run < 3_000_000,
                "event budget exceeded (an event storm): {}",
                self.describe()
            );
            let event = self.events[index].take().expect("event runs once");
            self.run_event(event);
            steps += 1;
            if steps & 7 == 0 && stop(self) {
                return true;
            }
        }
        self.now_ms = self.now_ms.max(until_ms);
        stop(self)
    }

    /// All servers up, one established leader, everyone serving under it and every data tree
    /// equal to the whole committed sequence.
    pub fn converged(&self) -> bool {
        let leaders: Vec<Sid> = self
            .servers
            .iter()
            .filter(|(_, s)| s.node.as_ref().is_some_and(|n| n.established_epoch().is_some()))
            .map(|(&sid, _)| sid)
            .collect();
        if leaders.len() != 1 {
            return false;
        }
        let leader = leaders[0];
        let target = &self.servers[&leader].applied;
        if target.len() != self.checker.global.len() {
            return false;
        }
        self.servers.values().all(|s| {
            s.node.as_ref().is_some_and(|n| n.is_serving() && n.leader() == Some(leader))
                && s.applied.len() == target.len()
        })
    }

    /// The whole run: chaos, then healing, then the liveness check.
    pub fn run(&mut self) {
        let chaos = self.config.chaos_ms;
        self.run_until(chaos, |_| false);
        // Fault-free from here: heal, restart everyone, no more drops.
        self.faults_on = false;
        self.partition = None;
        let sids: Vec<Sid> = self.servers.keys().copied().collect();
        for sid in sids {
            if !self.up(sid) {
                self.restart(sid);
            }
        }
        let deadline = self.now_ms + self.config.liveness_ms;
        let converged = self.run_until(deadline, |sim| sim.converged());
        assert!(
            converged,
            "no convergence {} ms after the faults stopped: {}",
            self.config.liveness_ms,
            self.describe()
        );
        // One more write must reach everyone.
        let before = self.checker.global.len();
        let leader = self
            .servers
            .iter()
            .find(|(_, s)| s.node.as_ref().is_some_and(|n| n.established_epoch().is_some()))
            .map(|(&sid, _)| sid)
            .unwrap();
        self.propose_at(leader, Bytes::from_static(b"final"));
        let deadline = self.now_ms + 5_000;
        let done = self.run_until(deadline, |sim| sim.checker.global.len() > before && sim.converged());
        assert!(done, "the final write did not reach everyone: {}", self.describe());
    }

    /// A quiet ensemble for scripted scenarios: no random faults, no random clients.
    pub fn quiet(voters: u64, observers: u64, seed: u64) -> Simulation {
        let mut config = SimConfig::from_seed(seed);
        config.voters = voters;
        config.observers = observers;
        config.faults = Faults {
            election_drop_ppm: 0,
            election_duplicate_ppm: 0,
            quorum_break_ppm: 0,
            delay_ms_max: 5,
            fsync_ms_max: 3,
            crash_every_ms: u64::MAX / 4,
            partition_every_ms: u64::MAX / 4,
        };
        config.snapshot_every = usize::MAX / 2;
        config.stagger_start_ms = 0;
        config.commit_log_count = 500;
        config.txn_log_sync = true;
        let mut simulation = Simulation::new(config);
        simulation.clients_on = false;
        simulation
    }

    /// Sets the leader-side sync knobs of every server not started yet (call before running).
    pub fn set_sync_knobs(&mut self, commit_log_count: usize, txn_log_sync: bool) {
        for config in self.zab_config.values_mut() {
            config.commit_log_count = commit_log_count;
            config.txn_log_sync = txn_log_sync;
        }
    }

    /// Runs the scheduler for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now_ms + ms;
        self.run_until(until, |_| false);
    }

    /// Runs until `predicate` holds (checked often), at most `ms`.
    pub fn run_until_true(&mut self, ms: u64, predicate: impl FnMut(&Simulation) -> bool) -> bool {
        let until = self.now_ms + ms;
        self.run_until(until, predicate)
    }

    /// The established leader, if exactly one server is one.
    pub fn leader(&self) -> Option<Sid> {
        let leaders: Vec<Sid> = self
            .servers
            .iter()
            .filter(|(_, s)| s.node.as_ref().is_some_and(|n| n.established_epoch().is_some()))
            .map(|(&sid, _)| sid)
            .collect();
        (leaders.len() == 1).then(|| leaders[0])
    }

    /// The core of a running server.
    pub fn node(&self, sid: Sid) -> Option<&Node> {
        self.servers[&sid].node.as_ref()
    }

    /// The txns a server applied.
    pub fn applied(&self, sid: Sid) -> &[Txn] {
        &self.servers[&sid].applied
    }

    /// `count` writes proposed at the leader.
    pub fn write(&mut self, count: usize) {
        let leader = self.leader().expect("an established leader");
        for _ in 0..count {
            self.next_client += 1;
            let data = Bytes::from(format!("w{}", self.next_client));
            self.propose_at(leader, data);
        }
    }

    /// Cut `sid` off from everyone (connections across the cut die); `heal` undoes it.
    pub fn isolate(&mut self, sid: Sid) {
        let others: Vec<Sid> = self.servers.keys().copied().filter(|&s| s != sid).collect();
        for other in others {
            self.break_connection(sid, other, &[sid, other]);
        }
        self.partition = Some(BTreeSet::from([sid]));
    }

    /// Remove the partition.
    pub fn heal(&mut self) {
        self.partition = None;
    }

    /// Compact a server's history to what it applied (as if it had taken a snapshot).
    pub fn snapshot_now(&mut self, sid: Sid) {
        let server = self.servers.get_mut(&sid).unwrap();
        let zxid = server.applied_zxid;
        server.disk.snapshot = server.applied.clone();
        server.disk.snapshot_zxid = zxid;
        server.disk.log.retain(|txn| txn.zxid > zxid);
        if let Some(node) = server.node.as_mut() {
            node.compact(zxid);
        }
    }

    pub fn describe(&self) -> String {
        let mut text = format!("t={}ms committed={} ", self.now_ms, self.checker.global.len());
        for (sid, server) in &self.servers {
            match &server.node {
                None => text.push_str(&format!("[{sid}: down] ")),
                Some(node) => text.push_str(&format!(
                    "[{sid}: {:?} leader={:?} serving={} applied={} zab=(acc {}, cur {}, last {:?}, committed {:?}) pending={}] ",
                    node.state(),
                    node.leader(),
                    node.is_serving(),
                    server.applied.len(),
                    node.zab().accepted_epoch,
                    node.zab().current_epoch,
                    node.zab().history.last_zxid(),
                    node.zab().last_committed,
                    server.pending.len()
                )),
            }
        }
        text
    }
}
