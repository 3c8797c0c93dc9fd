"""Quorum tests: ensembles of ferrokeeper (and Apache ZooKeeper 3.8) members on 127.0.0.1.

Each member is a process with its own dataDir, client port, quorum port and election port
(free loopback ports); every wait is bounded; every process is killed at teardown.

* a 3-member ferrokeeper ensemble forms; writes on any member are read on every other; a
  session (and its ephemeral) moves to another member when its member dies;
* kill -9 of the leader under a write load: a new leader serves writes (the election time is
  printed), every acknowledged write is on every member afterwards;
* a follower stopped while writes go on catches up by DIFF when it comes back;
* mixed ensembles {2 Java + 1 ferrokeeper} and {1 Java + 2 ferrokeeper}: kazoo on every member
  reads the others' writes.
"""

from __future__ import annotations

import collections
import signal
import threading
import time
from pathlib import Path
from typing import List, Optional

import pytest

import zkharness as h

FORM_TIMEOUT_S = 60.0


class Member(h.ServerHandle):
    """One ensemble member: a ServerHandle with server.N lines and a myid file."""

    def __init__(self, kind: str, workdir: Path, sid: int, tick_time: int = 500, observer: bool = False):
        super().__init__(kind, workdir, tick_time=tick_time)
        self.sid = sid
        self.observer = observer
        if observer:
            self.cfg["peerType"] = "observer"
        self.quorum_port = h.free_port()
        self.election_port = h.free_port()
        (self.data_dir / "myid").write_text(f"{sid}\n")

    def server_line(self, host: str = h.HOST) -> str:
        role = ":observer" if self.observer else ""
        return f"{host}:{self.quorum_port}:{self.election_port}{role}"

    def mode(self) -> Optional[str]:
        try:
            srvr = self.four_letter("srvr", timeout=2.0)
        except OSError:
            return None
        for line in srvr.splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):].strip()
        return None

    def launch(self) -> None:
        """Start without waiting (a member serves only once a quorum exists)."""
        threading.Thread(target=self._start_quietly, daemon=True).start()

    def _start_quietly(self) -> None:
        try:
            self._start_once(FORM_TIMEOUT_S)
        except Exception as error:  # reported by the waits of the test
            self.start_error = error

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Ensemble:
    def __init__(self, tmp_path: Path, kinds: List[str], extra_cfg=None, host: str = h.HOST):
        # a kind ending in "-observer" is an observer of that kind
        self.members = [Member(kind.split("-")[0], tmp_path / f"{kind}-{i + 1}", i + 1, observer=kind.endswith("-observer"))
                        for i, kind in enumerate(kinds)]
        lines = {f"server.{m.sid}": m.server_line(host) for m in self.members}
        for m in self.members:
            m.cfg.update(lines)
            m.cfg["initLimit"] = "10"
            m.cfg["syncLimit"] = "5"
            m.cfg.update(extra_cfg or {})

    def start(self, first: Optional[List[int]] = None) -> "Ensemble":
        """Start every member; with `first` (sids), those form a quorum before the rest start."""
        if first:
            early = [m for m in self.members if m.sid in first]
            for m in early:
                m.launch()
            self.wait_formed(early)
        for m in self.members:
            if m.proc is None:
                m.launch()
        self.wait_formed()
        return self

    def wait_formed(self, members: Optional[List[Member]] = None, timeout: float = FORM_TIMEOUT_S) -> None:
        members = members or self.members
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            modes = [m.mode() for m in members]
            if all(mode in ("leader", "follower", "observer") for mode in modes) and modes.count("leader") == 1:
                # a started process registers itself once _start_once returned
                if all(m.proc is not None for m in members):
                    return
            time.sleep(0.1)
        tails = "\n".join(f"--- {m.kind} {m.sid}: {m.mode()} {getattr(m, 'start_error', '')!r}\n{m.log_tail(30)}"
                          for m in members)
        raise TimeoutError(f"ensemble did not form within {timeout}s\n{tails}")

    def leader(self) -> Member:
        return next(m for m in self.members if m.is_running() and m.mode() == "leader")

    def followers(self) -> List[Member]:
        return [m for m in self.members if m.is_running() and m.mode() == "follower"]

    def hosts(self, members: Optional[List[Member]] = None) -> str:
        return ",".join(m.hosts for m in (members or self.members))

    def stop(self) -> None:
        for m in self.members:
            m.stop(signal.SIGKILL)


@pytest.fixture
def ensemble_factory(request, tmp_path):
    made: List[Ensemble] = []

    def factory(kinds: List[str], first: Optional[List[int]] = None, extra_cfg=None, host=h.HOST) -> Ensemble:
        for kind in set(kinds):
            h.require_kind(kind.split("-")[0])
        ensemble = Ensemble(tmp_path / f"e{len(made)}", kinds, extra_cfg, host)
        made.append(ensemble)
        request.node._fk_servers = getattr(request.node, "_fk_servers", []) + ensemble.members
        return ensemble.start(first)

    yield factory
    for ensemble in made:
        ensemble.stop()
    # A Java member checks the digest each proposal carries against its own tree (and any
    # member's logged digests when it loads them): none may differ.
    for ensemble in made:
        for m in ensemble.members:
            if m.kind == "java":
                log = m.log_text()
                assert "Digests are not matching" not in log and "digest mismatch" not in log.lower(), \
                    f"java {m.sid} found a digest mismatch:\n{m.log_tail(40)}"


def client_on(kazoo_factory, member: Member, **kwargs):
    return kazoo_factory(member.hosts, **kwargs)


def read_everywhere(kazoo_factory, members: List[Member], path: str):
    out = {}
    for m in members:
        zk = client_on(kazoo_factory, m)
        zk.sync(path)
        out[m.sid] = zk.get(path)[0]
        zk.stop()
    return out


# ---------------------------------------------------------------------------------------------


def test_three_ferrokeepers_form_and_replicate(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 3)
    leader = ensemble.leader()
    assert len(ensemble.followers()) == 2
    mntr = leader.four_letter("mntr")
    assert "zk_server_state\tleader" in mntr
    assert "zk_synced_followers\t2" in mntr
    assert "zk_peer_state\tleading - broadcast" in mntr
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.create(f"/from-{m.sid}", f"written on {m.sid}".encode())
        zk.stop()
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.sync("/")
        for other in ensemble.members:
            assert zk.get(f"/from-{other.sid}")[0] == f"written on {other.sid}".encode()
        # session ids carry the myid of the member that minted them
        assert zk.client_id[0] >> 56 == m.sid
        zk.stop()


def test_session_and_ephemeral_move_to_another_member(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 3)
    follower = ensemble.followers()[0]
    others = [m for m in ensemble.members if m is not follower]
    hosts = ",".join([follower.hosts] + [m.hosts for m in others])
    zk = kazoo_factory(hosts, timeout=10.0, randomize_hosts=False)
    assert zk.connected
    session_id = zk.client_id[0]
    zk.create("/owned", b"x", ephemeral=True)
    follower.stop(signal.SIGKILL)
    # kazoo reconnects to another member, which revalidates the session with the leader
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            zk.exists("/owned")
            break
        except Exception:
            time.sleep(0.2)
    assert zk.client_id[0] == session_id
    watcher = client_on(kazoo_factory, others[0])
    watcher.sync("/")
    stat = watcher.exists("/owned")
    assert stat is not None and stat.ephemeralOwner == session_id
    zk.set("/owned", b"still mine")
    zk.stop()
    zk.close()
    watcher.sync("/")
    assert watcher.exists("/owned") is None


def test_leader_killed_under_write_load(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 3)
    leader = ensemble.leader()
    followers = ensemble.followers()
    # patient reconnects: the survivors refuse clients until they elected a new leader
    writer = kazoo_factory(ensemble.hosts(followers), timeout=6.0,
                           connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5})
    writer.ensure_path("/load")
    acknowledged: List[str] = []
    stop = threading.Event()
    errors: List[str] = []

    def write_loop():
        i = 0
        while not stop.is_set():
            path = f"/load/n{i:06d}"
            i += 1
            try:
                writer.create(path, b"v")
                acknowledged.append(path)
            except Exception as error:  # ConnectionLoss / SessionMoved during the election
                errors.append(type(error).__name__)
                time.sleep(0.05)

    thread = threading.Thread(target=write_loop, daemon=True)
    thread.start()
    time.sleep(1.5)
    before_kill = len(acknowledged)
    assert before_kill > 0
    killed_at = time.monotonic()
    leader.stop(signal.SIGKILL)
    # a new leader among the survivors, and writes acknowledged again
    deadline = killed_at + 30
    new_leader_at = None
    while time.monotonic() < deadline:
        if new_leader_at is None and any(m.mode() == "leader" for m in followers):
            new_leader_at = time.monotonic()
        if new_leader_at is not None and len(acknowledged) > before_kill + 20:
            break
        time.sleep(0.05)
    assert new_leader_at is not None, "no new leader within 30 s"
    writes_back_at = time.monotonic()
    stop.set()
    thread.join(10)
    print(f"\nleader kill -9 -> new leader serving after {new_leader_at - killed_at:.3f} s; "
          f"writes acknowledged again after {writes_back_at - killed_at:.3f} s; "
          f"{len(acknowledged)} writes acknowledged, failed attempts: {len(errors)}")
    assert len(acknowledged) > before_kill + 20, f"errors: {collections.Counter(errors)}"
    new_leader = ensemble.leader()
    mntr = dict(line.split("\t", 1) for line in new_leader.four_letter("mntr").splitlines() if "\t" in line)
    print(f"new leader {new_leader.sid}: zk_cnt_election_time={mntr['zk_cnt_election_time']} "
          f"zk_max_election_time={mntr['zk_max_election_time']} ms")
    assert int(mntr["zk_cnt_election_time"]) == 2
    # the old leader comes back as a follower and catches up
    leader.launch()
    ensemble.wait_formed()
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.sync("/load")
        present = set(zk.get_children("/load"))
        missing = [p for p in acknowledged if p.rsplit("/", 1)[1] not in present]
        assert not missing, f"member {m.sid} lacks {len(missing)} acknowledged writes: {missing[:5]}"
        zk.stop()


def test_lagging_follower_catches_up_by_diff(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 3)
    lagging = ensemble.followers()[0]
    live = [m for m in ensemble.members if m is not lagging]
    zk = kazoo_factory(ensemble.hosts(live))
    zk.create("/before", b"1")
    lagging.stop(signal.SIGTERM)
    for i in range(100):
        zk.create(f"/while-down-{i}", str(i).encode())
    lagging.launch()
    ensemble.wait_formed()
    assert "Getting a diff from the leader" in lagging.log_text()
    back = client_on(kazoo_factory, lagging)
    back.sync("/")
    for i in range(100):
        assert back.get(f"/while-down-{i}")[0] == str(i).encode()
    assert back.get("/before")[0] == b"1"


# (kinds by sid, sids that form the quorum first, kind of the leader expected)
MIXED = {
    "2java-1fk-fk-leads": (["java", "java", "ferrokeeper"], None, "ferrokeeper"),
    "2java-1fk-java-leads": (["java", "java", "ferrokeeper"], [1, 2], "java"),
    "1java-2fk-fk-leads": (["java", "ferrokeeper", "ferrokeeper"], [1, 3], "ferrokeeper"),
    "1java-2fk-java-leads": (["ferrokeeper", "ferrokeeper", "java"], [1, 3], "java"),
}


@pytest.mark.parametrize("case", list(MIXED), ids=list(MIXED))
def test_mixed_ensemble_with_java(ensemble_factory, kazoo_factory, case):
    kinds, first, leader_kind = MIXED[case]
    ensemble = ensemble_factory(kinds, first)
    leader = ensemble.leader()
    print(f"\nmixed ensemble {kinds}: leader is {leader.kind} {leader.sid}")
    assert leader.kind == leader_kind
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.create(f"/mixed-{m.sid}", f"{m.kind} {m.sid}".encode())
        zk.create(f"/mixed-eph-{m.sid}", b"e", ephemeral=True)
        # Every kind of change the proposals' digests must follow (checked by Java members
        # when the ensemble is torn down).
        zk.create(f"/mixed-{m.sid}/seq-", b"s", sequence=True)
        zk.create(f"/mixed-{m.sid}/c", b"", makepath=False)
        zk.set(f"/mixed-{m.sid}/c", b"changed")
        zk.set_acls(f"/mixed-{m.sid}/c", [h_acl_world_all()])
        zk.set("/", f"root {m.sid}".encode())
        tx = zk.transaction()
        tx.create(f"/mixed-{m.sid}/t", b"t")
        tx.set_data(f"/mixed-{m.sid}/c", b"again")
        tx.delete(f"/mixed-{m.sid}/t")
        tx.commit()
        tx = zk.transaction()
        tx.create(f"/mixed-{m.sid}/never", b"n")
        tx.check(f"/mixed-{m.sid}/c", 99)
        tx.commit()
        zk.delete(f"/mixed-{m.sid}/c")
        zk.stop()
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.sync("/")
        for other in ensemble.members:
            assert zk.get(f"/mixed-{other.sid}")[0] == f"{other.kind} {other.sid}".encode(), (m, other)
            # the ephemerals died with their sessions (closeSession went through the leader)
            assert zk.exists(f"/mixed-eph-{other.sid}") is None, (m, other)
        zk.stop()


# Sizes around where a decoded value stops being copied and starts sharing the receive buffer
# (jute::SHARE_FROM, 512 bytes), across a 64 KiB read, and close to jute.maxbuffer.
VALUE_SIZES = [0, 1, 100, 511, 512, 513, 4096, 65536 + 7, 998_400]
WIRE_CASES = {
    "3fk": (["ferrokeeper"] * 3, None, "ferrokeeper"),
    "2fk-java-leads": (["ferrokeeper", "ferrokeeper", "java"], [1, 3], "java"),
}


@pytest.mark.parametrize("case", list(WIRE_CASES), ids=list(WIRE_CASES))
def test_values_of_every_size_cross_the_quorum_wire(ensemble_factory, kazoo_factory, case):
    """Values written through every member as one pipelined burst (forwarded requests, proposals,
    commits) read back byte for byte from every member."""
    kinds, first, leader_kind = WIRE_CASES[case]
    ensemble = ensemble_factory(kinds, first)
    assert ensemble.leader().kind == leader_kind
    expected = {}
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m, timeout=20.0)
        pending = []
        for i, size in enumerate(VALUE_SIZES):
            value = bytes((m.sid * 31 + i + k) % 251 for k in range(size))
            path = f"/wire-{m.sid}-{size}"
            expected[path] = value
            pending.append(zk.create_async(path, value[: size // 2]))
            pending.append(zk.set_async(path, value))
        for result in pending:
            result.get(timeout=30)
        zk.stop()
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m, timeout=20.0)
        zk.sync("/")
        for path, value in expected.items():
            data, stat = zk.get(path)
            assert data == value, (m.sid, path, len(data), len(value))
            assert stat.version == 1 and stat.dataLength == len(value), (m.sid, path, stat)
        zk.stop()


# (kinds by sid, sids that form the quorum first, kind of the leader, kind of the lagging one)
NO_LOG_SYNC = {"snapshotSizeFactor": "-1"}
SNAP_CASES = {
    "fk-leader-fk-follower": (["ferrokeeper"] * 3, None, "ferrokeeper", "ferrokeeper", NO_LOG_SYNC),
    "java-leader-fk-follower": (["ferrokeeper", "java", "java"], [2, 3], "java", "ferrokeeper", NO_LOG_SYNC),
    "fk-leader-java-follower": (["java", "ferrokeeper", "ferrokeeper"], [2, 3], "ferrokeeper", "java", NO_LOG_SYNC),
    # Log sync on (snapshotSizeFactor 0.33), but the missed txns outweigh a third of the small
    # tree's snapshot: Java's leader sends a SNAP, and ferrokeeper's, which keeps no more
    # history in memory than that, too.
    "java-leader-log-too-big": (["ferrokeeper", "java", "java"], [2, 3], "java", "ferrokeeper", {}),
    "fk-leader-log-too-big": (["ferrokeeper"] * 3, None, "ferrokeeper", "ferrokeeper", {}),
}


@pytest.mark.parametrize("case", list(SNAP_CASES), ids=list(SNAP_CASES))
def test_follower_far_behind_gets_a_snapshot(ensemble_factory, kazoo_factory, case):
    kinds, first, leader_kind, lagging_kind, extra_cfg = SNAP_CASES[case]
    # More than commitLogCount (minimum 500) txns missed, and no log-based sync: SNAP.
    ensemble = ensemble_factory(kinds, first, extra_cfg=extra_cfg)
    leader = ensemble.leader()
    assert leader.kind == leader_kind
    lagging = next(m for m in ensemble.followers() if m.kind == lagging_kind)
    zk = client_on(kazoo_factory, leader)
    zk.create("/snap", b"root")
    zk.create("/snap/eph", b"e", ephemeral=True)
    lagging.stop(signal.SIGTERM)
    for i in range(600):
        zk.create(f"/snap/n{i:04d}", str(i).encode())
    zk.set_acls("/snap/n0000", [h_acl_world_read()])
    lagging.launch()
    ensemble.wait_formed()
    assert "Getting a snapshot from leader" in lagging.log_text()
    back = client_on(kazoo_factory, lagging)
    back.sync("/snap")
    assert len(back.get_children("/snap")) == 601
    assert back.get("/snap/n0599")[0] == b"599"
    assert back.get_acls("/snap/n0000")[0] == [h_acl_world_read()]
    # the session travelled in the snapshot: its ephemeral is there, and goes when it closes
    assert back.exists("/snap/eph").ephemeralOwner == zk.client_id[0]
    zk.stop()
    zk.close()
    back.sync("/snap")
    assert back.exists("/snap/eph") is None
    # and the snapshot's tree keeps taking the leader's writes
    writer = client_on(kazoo_factory, leader)
    writer.create("/snap/after", b"a")
    back.sync("/snap")
    assert back.get("/snap/after")[0] == b"a"


def h_acl_world_all():
    from kazoo.security import make_acl

    return make_acl("world", "anyone", all=True)


def h_acl_world_read():
    from kazoo.security import make_acl

    return make_acl("world", "anyone", read=True)


# (kinds by sid, sids that form the quorum first, kind of the leader)
SESSION_CASES = {
    "fk": (["ferrokeeper"] * 3, None, "ferrokeeper"),
    "java-leader-fk-followers": (["ferrokeeper", "ferrokeeper", "java"], [1, 3], "java"),
    "fk-leader-java-followers": (["java", "java", "ferrokeeper"], None, "ferrokeeper"),
}


@pytest.mark.parametrize("case", list(SESSION_CASES), ids=list(SESSION_CASES))
def test_sessions_are_kept_alive_and_expired_by_the_leader(ensemble_factory, kazoo_factory, case):
    import zkproto

    kinds, first, leader_kind = SESSION_CASES[case]
    ensemble = ensemble_factory(kinds, first)
    leader = ensemble.leader()
    assert leader.kind == leader_kind
    follower, other = ensemble.followers()
    # a live session on a follower: its pings reach the leader through the follower's PING
    # replies, so the leader never expires it
    alive = kazoo_factory(follower.hosts, timeout=2.0)
    alive.create("/alive", b"", ephemeral=True)
    # a session on the other follower whose client vanishes without closeSession
    raw = zkproto.RawSession(h.HOST, other.port, timeout_ms=2000)
    assert raw.create("/vanishing", b"", flags=zkproto.EPHEMERAL).err == 0
    vanished_at = time.monotonic()
    raw.close()
    observer = client_on(kazoo_factory, leader)
    deadline = vanished_at + 15
    while time.monotonic() < deadline and observer.exists("/vanishing") is not None:
        time.sleep(0.1)
    expired_after = time.monotonic() - vanished_at
    assert observer.exists("/vanishing") is None, "the leader did not expire the vanished session"
    print(f"\nsession of 2000 ms expired by the leader {expired_after:.2f} s after its client vanished")
    assert expired_after >= 1.5
    for m in (follower, other):
        zk = client_on(kazoo_factory, m)
        zk.sync("/")
        assert zk.exists("/vanishing") is None
        zk.stop()
    time.sleep(max(0.0, 6.0 - (time.monotonic() - vanished_at)))
    assert alive.connected
    assert observer.exists("/alive") is not None, "a live session on a follower was expired"


NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
# What Java 3.8 answers while it has no quorum (measured on QuorumPeerMain).
NOT_SERVING_ANSWERS = {
    "ruok": "imok", "isro": "null", "hash": NOT_SERVING.rstrip("\n"),
    **{w: NOT_SERVING for w in ("srvr", "stat", "mntr", "cons", "crst", "dump", "srst", "wchs", "wchc",
                                "wchp", "dirs", "conf")},
}


@pytest.mark.parametrize("kind", ["ferrokeeper", "java"])
def test_member_without_quorum_stops_serving(ensemble_factory, kazoo_factory, kind):
    ensemble = ensemble_factory([kind] * 3)
    survivor = ensemble.followers()[0]
    zk = client_on(kazoo_factory, survivor)
    zk.create("/q", b"")
    for m in ensemble.members:
        if m is not survivor:
            m.stop(signal.SIGKILL)
    deadline = time.monotonic() + 15
    srvr = ""
    while time.monotonic() < deadline:
        srvr = survivor.four_letter("srvr")
        if "not currently serving" in srvr:
            break
        time.sleep(0.1)
    assert srvr == NOT_SERVING
    for word, expected in NOT_SERVING_ANSWERS.items():
        assert survivor.four_letter(word) == expected, word
    # clients are disconnected and cannot get a session
    from kazoo.client import KazooClient
    from kazoo.handlers.threading import KazooTimeoutError

    fresh = KazooClient(hosts=survivor.hosts, timeout=2.0, connection_retry={"max_tries": 1})
    with pytest.raises(KazooTimeoutError):
        fresh.start(timeout=2)
    fresh.stop()
    fresh.close()


def test_snapshots_and_whole_ensemble_restart(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 3, extra_cfg={"snapCount": "50"})
    zk = kazoo_factory(ensemble.hosts())
    zk.ensure_path("/r")
    for i in range(200):
        zk.create(f"/r/n{i:03d}", str(i).encode())
    zk.stop()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        snapshots = {m.sid: sorted(p.name for p in (m.data_dir / "version-2").glob("snapshot.*"))
                     for m in ensemble.members}
        if all(len(names) >= 3 for names in snapshots.values()):
            break
        time.sleep(0.1)
    assert all(len(names) >= 3 for names in snapshots.values()), snapshots
    epochs = {m.sid: (m.data_dir / "version-2" / "currentEpoch").read_text() for m in ensemble.members}
    assert set(epochs.values()) == {"1"}, epochs
    for m in ensemble.members:
        m.stop(signal.SIGTERM)
    for m in ensemble.members:
        m.launch()
    ensemble.wait_formed()
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.sync("/r")
        assert len([c for c in zk.get_children("/r") if c.startswith("n")]) == 200
        assert zk.get("/r/n199")[0] == b"199"
        zk.create(f"/r/after-{m.sid}", b"")
        zk.stop()
    epochs = {m.sid: (m.data_dir / "version-2" / "currentEpoch").read_text() for m in ensemble.members}
    assert set(epochs.values()) == {"2"}, epochs


def test_five_members_survive_two_failures(ensemble_factory, kazoo_factory):
    ensemble = ensemble_factory(["ferrokeeper"] * 5)
    zk = kazoo_factory(ensemble.hosts(), connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5})
    zk.create("/five", b"0")
    for round_number in (1, 2):
        leader = ensemble.leader()
        killed_at = time.monotonic()
        leader.stop(signal.SIGKILL)
        survivors = [m for m in ensemble.members if m.is_running()]
        ensemble.wait_formed(survivors)
        print(f"\n5 members, kill -9 of leader {leader.sid}: new leader after {time.monotonic() - killed_at:.2f} s")
        zk.set("/five", str(round_number).encode())
    for m in ensemble.members:
        if m.is_running():
            reader = client_on(kazoo_factory, m)
            reader.sync("/five")
            assert reader.get("/five")[0] == b"2"
            reader.stop()


OBSERVER_CASES = {
    "fk-observer-of-fk": ["ferrokeeper"] * 3 + ["ferrokeeper-observer"],
    "fk-observer-of-java": ["java"] * 3 + ["ferrokeeper-observer"],
    "java-observer-of-fk": ["ferrokeeper"] * 3 + ["java-observer"],
}


@pytest.mark.parametrize("case", list(OBSERVER_CASES), ids=list(OBSERVER_CASES))
def test_observer_reads_writes_and_forwards(ensemble_factory, kazoo_factory, case):
    ensemble = ensemble_factory(OBSERVER_CASES[case])
    observer = ensemble.members[3]
    assert observer.mode() == "observer"
    assert "zk_synced_followers\t2" in ensemble.leader().four_letter("mntr")
    zk = client_on(kazoo_factory, observer)
    zk.create("/via-observer", b"o")
    leader_client = client_on(kazoo_factory, ensemble.leader())
    leader_client.create("/via-leader", b"l")
    zk.sync("/")
    assert zk.get("/via-leader")[0] == b"l"
    assert leader_client.get("/via-observer")[0] == b"o"


# (kinds by sid, sids that form the quorum first)
TRUNC_CASES = {
    "fk": (["ferrokeeper"] * 3, None),
    "fk-old-leader-java-new-leader": (["java", "java", "ferrokeeper"], None),
    "java-old-leader-fk-new-leader": (["ferrokeeper", "ferrokeeper", "java"], [1, 3]),
}


@pytest.mark.parametrize("write_in_new_epoch", [False, True], ids=["trunc", "snap-across-epochs"])
@pytest.mark.parametrize("case", list(TRUNC_CASES), ids=list(TRUNC_CASES))
def test_old_leader_drops_its_uncommitted_proposal(ensemble_factory, kazoo_factory, case, write_in_new_epoch):
    """The old leader comes back with a txn no one else logged. If the new leader wrote nothing
    yet it is told to TRUNC; once the new epoch has txns, a TRUNC would cross epochs and it gets
    a SNAP instead (LearnerHandler.queueCommittedProposals). Either way the txn is gone."""
    kinds, first = TRUNC_CASES[case]
    # tickTime 2000: the leader notices it lost its quorum only at its next tick, so a write
    # sent right after its followers died is proposed and logged by the leader alone.
    ensemble = ensemble_factory(kinds, first, extra_cfg={"tickTime": "2000"})
    leader = ensemble.leader()
    followers = ensemble.followers()
    zk = client_on(kazoo_factory, leader)
    zk.create("/t", b"committed")
    for f in followers:
        f.stop(signal.SIGKILL)
    zk.create_async("/t/uncommitted", b"never")
    time.sleep(0.3)
    leader.stop(signal.SIGKILL)
    for f in followers:
        f.launch()
    ensemble.wait_formed(followers)
    if write_in_new_epoch:
        survivor = client_on(kazoo_factory, followers[0])  # its createSession is a txn too
        survivor.create("/t/new-epoch", b"x")
    leader.launch()
    ensemble.wait_formed()
    log = leader.log_text()
    if write_in_new_epoch:
        assert "Getting a snapshot from leader" in log
    else:
        assert "Truncating log to get in sync with the leader" in log
        client_on(kazoo_factory, followers[0]).create("/t/new-epoch", b"x")
    for m in ensemble.members:
        c = client_on(kazoo_factory, m)
        c.sync("/t")
        assert sorted(c.get_children("/t")) == ["new-epoch"], m
        c.stop()
    # after a restart the truncated txn stays gone
    leader.stop(signal.SIGTERM)
    leader.launch()
    ensemble.wait_formed()
    c = client_on(kazoo_factory, leader)
    c.sync("/t")
    assert sorted(c.get_children("/t")) == ["new-epoch"]


FROZEN_CASES = {
    "fk": (["ferrokeeper"] * 3, None),
    "fk-leader-java-followers": (["java", "java", "ferrokeeper"], None),
    "java-leader-fk-followers": (["ferrokeeper", "ferrokeeper", "java"], [1, 3]),
}


@pytest.mark.parametrize("case", list(FROZEN_CASES), ids=list(FROZEN_CASES))
def test_frozen_leader_is_replaced_and_rejoins(ensemble_factory, kazoo_factory, case):
    """A stand-in for a partition: the leader stops (SIGSTOP) with its sockets open; the others
    time it out (syncLimit), elect a new leader and take writes; resumed, the old leader finds
    it lost its quorum, steps down and follows the new one."""
    import os

    kinds, first = FROZEN_CASES[case]
    ensemble = ensemble_factory(kinds, first)
    leader = ensemble.leader()
    followers = ensemble.followers()
    os.killpg(os.getpgid(leader.proc.pid), signal.SIGSTOP)
    try:
        frozen_at = time.monotonic()
        deadline = frozen_at + 30
        while time.monotonic() < deadline and not any(f.mode() == "leader" for f in followers):
            time.sleep(0.1)
        assert any(f.mode() == "leader" for f in followers), "no new leader while the old one is frozen"
        print(f"\nfrozen leader {leader.sid} replaced after {time.monotonic() - frozen_at:.2f} s")
        zk = kazoo_factory(ensemble.hosts(followers))
        zk.create("/while-frozen", b"new epoch")
    finally:
        os.killpg(os.getpgid(leader.proc.pid), signal.SIGCONT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and leader.mode() != "follower":
        time.sleep(0.1)
    assert leader.mode() == "follower"
    c = client_on(kazoo_factory, leader)
    c.sync("/")
    assert c.get("/while-frozen")[0] == b"new epoch"


def test_server_lines_with_host_names(ensemble_factory, kazoo_factory):
    """server.N=localhost:…: names are resolved (again on every connection attempt)."""
    ensemble = ensemble_factory(["ferrokeeper"] * 3, host="localhost")
    zk = client_on(kazoo_factory, ensemble.followers()[0])
    zk.create("/named", b"ok")
    other = client_on(kazoo_factory, ensemble.followers()[1])
    other.sync("/named")
    assert other.get("/named")[0] == b"ok"
