"""kazoo recipes and session behaviour against the server (several clients/threads each).

Every loop is bounded in iterations and in time; every thread is joined with a timeout.
"""

from __future__ import annotations

import random
import socket
import threading
import time

import pytest
from kazoo.client import KazooState
from kazoo.exceptions import ConnectionClosedError, LockTimeout
from kazoo.protocol.states import EventType
from kazoo.recipe.cache import TreeCache, TreeEvent

import zkproto

T = 20.0  # generous per-scenario bound (seconds)


def wait_until(pred, timeout=T, interval=0.02, msg="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {msg}")


class Threads:
    """Start worker threads, collect their exceptions, join with a bound."""

    def __init__(self):
        self.threads = []
        self.errors = []

    def spawn(self, fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 - reported by join()
                self.errors.append(e)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def join(self, timeout=T):
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        alive = [t for t in self.threads if t.is_alive()]
        assert not alive, f"{len(alive)} worker thread(s) still running after {timeout}s"
        if self.errors:
            raise self.errors[0]


# ================================================================================ recipes
def test_lock_serializes_contenders(server, kazoo_factory):
    clients = [kazoo_factory(server.hosts) for _ in range(3)]
    intervals = []
    guard = threading.Lock()
    inside = [0]
    max_inside = [0]

    def worker(client, ident):
        lock = client.Lock("/recipes/lock", ident)
        for _ in range(3):
            assert lock.acquire(timeout=T)
            try:
                with guard:
                    inside[0] += 1
                    max_inside[0] = max(max_inside[0], inside[0])
                start = time.monotonic()
                time.sleep(0.02)
                end = time.monotonic()
                with guard:
                    inside[0] -= 1
                    intervals.append((start, end, ident))
            finally:
                lock.release()

    threads = Threads()
    for i, c in enumerate(clients):
        threads.spawn(worker, c, f"worker-{i}")
    threads.join()
    assert max_inside[0] == 1
    assert len(intervals) == 9
    intervals.sort()
    for (s1, e1, _), (s2, e2, _) in zip(intervals, intervals[1:]):
        assert e1 <= s2, "lock holders overlapped"
    # all lock nodes are cleaned up
    assert clients[0].get_children("/recipes/lock") == []


def test_lock_nonblocking_timeout_and_contenders(server, kazoo_factory):
    a, b = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    la = a.Lock("/recipes/lock2", "alice")
    lb = b.Lock("/recipes/lock2", "bob")
    assert la.acquire(timeout=T)
    assert lb.acquire(blocking=False) is False
    with pytest.raises(LockTimeout):
        lb.acquire(timeout=0.5)
    got = threading.Event()

    def waiter():
        assert lb.acquire(timeout=T)
        got.set()

    threads = Threads()
    threads.spawn(waiter)
    wait_until(lambda: lb.contenders() == ["alice", "bob"], msg="both contenders queued")
    assert not got.wait(0.3), "bob got the lock while alice holds it"
    la.release()
    assert got.wait(T), "bob did not get the lock after alice released it"
    threads.join()
    assert la.contenders() == ["bob"]
    lb.release()
    # a client that dies while holding the lock frees it (ephemeral lock node)
    assert lb.acquire(timeout=T)
    b.stop()
    assert la.acquire(timeout=T)
    la.release()


def test_semaphore_bounds_holders(server, kazoo_factory):
    clients = [kazoo_factory(server.hosts) for _ in range(4)]
    guard = threading.Lock()
    inside = [0]
    peak = [0]

    def worker(client, i):
        sem = client.Semaphore("/recipes/sem", identifier=f"w{i}", max_leases=2)
        for _ in range(2):
            assert sem.acquire(timeout=T)
            try:
                with guard:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.05)
                with guard:
                    inside[0] -= 1
            finally:
                sem.release()

    threads = Threads()
    for i, c in enumerate(clients):
        threads.spawn(worker, c, i)
    threads.join()
    assert 1 <= peak[0] <= 2


def test_election_one_leader_then_next(server, kazoo_factory):
    clients = [kazoo_factory(server.hosts) for _ in range(3)]
    leaders = []                       # order in which candidates became leader
    leaving = {i: threading.Event() for i in range(3)}
    guard = threading.Lock()
    active = set()                     # candidates inside their leader function
    dead = set()                       # candidates whose client was stopped while leading
    overlap = []

    def lead(i):
        with guard:
            if active - dead:
                overlap.append((i, set(active - dead)))
            active.add(i)
            leaders.append(i)
        assert leaving[i].wait(T), f"candidate {i} never told to leave"
        with guard:
            active.discard(i)

    elections = [c.Election("/recipes/election", f"cand-{i}") for i, c in enumerate(clients)]

    def run(i):
        try:
            elections[i].run(lead, i)
        except ConnectionClosedError:
            assert i in dead  # candidate 1's client is stopped while it leads

    threads = Threads()
    threads.spawn(run, 0)
    wait_until(lambda: leaders == [0], msg="first candidate leads")
    for i in (1, 2):
        threads.spawn(run, i)
        wait_until(lambda i=i: len(elections[0].contenders()) == i + 1, msg="candidates queued")
    assert elections[0].contenders() == ["cand-0", "cand-1", "cand-2"]
    time.sleep(0.2)
    assert leaders == [0]
    leaving[0].set()
    wait_until(lambda: leaders == [0, 1], msg="second candidate leads after first leaves")
    assert elections[2].contenders() == ["cand-1", "cand-2"]
    # the current leader's client dies: the next one takes over
    with guard:
        dead.add(1)
    clients[1].stop()
    wait_until(lambda: leaders == [0, 1, 2], msg="third candidate leads after leader's session ends")
    assert elections[2].contenders() == ["cand-2"]
    leaving[1].set()
    leaving[2].set()
    threads.join()
    assert overlap == []


def test_barrier_blocks_until_removed(server, kazoo_factory):
    owner = kazoo_factory(server.hosts)
    waiters = [kazoo_factory(server.hosts) for _ in range(3)]
    barrier = owner.Barrier("/recipes/barrier")
    barrier.create()
    assert waiters[0].Barrier("/recipes/barrier").wait(timeout=0.3) is False
    passed = []

    def wait(client, i):
        assert client.Barrier("/recipes/barrier").wait(timeout=T) is True
        passed.append(i)

    threads = Threads()
    for i, c in enumerate(waiters):
        threads.spawn(wait, c, i)
    time.sleep(0.3)
    assert passed == []
    assert barrier.remove() is True
    threads.join()
    assert sorted(passed) == [0, 1, 2]
    assert owner.exists("/recipes/barrier") is None
    assert waiters[0].Barrier("/recipes/barrier").wait(timeout=1) is True


def test_double_barrier_enter_and_leave_together(server, kazoo_factory):
    n = 3
    clients = [kazoo_factory(server.hosts) for _ in range(n)]
    entered_at = {}
    started_at = {}
    left = []

    def member(client, i):
        db = client.DoubleBarrier("/recipes/dbarrier", n, identifier=f"m{i}")
        started_at[i] = time.monotonic()
        db.enter()
        entered_at[i] = time.monotonic()
        time.sleep(0.05 * i)
        db.leave()
        left.append(i)

    threads = Threads()
    for i, c in enumerate(clients):
        threads.spawn(member, c, i)
        time.sleep(0.2)  # stagger: nobody may pass before the last one arrives
    threads.join()
    last_start = max(started_at.values())
    assert all(t >= last_start for t in entered_at.values())
    assert sorted(left) == list(range(n))
    assert clients[0].get_children("/recipes/dbarrier") == []


def test_counter_concurrent_increments_add_up(server, kazoo_factory):
    # Counter retries its version-checked set on BadVersion through client.retry: allow
    # enough attempts for 4 contending clients (bounded by the deadline)
    retry = {"max_tries": 1000, "delay": 0.005, "max_delay": 0.05, "deadline": 60}
    clients = [kazoo_factory(server.hosts, command_retry=retry) for _ in range(4)]
    per_client = 25

    def worker(client):
        counter = client.Counter("/recipes/counter")
        for _ in range(per_client):
            counter += 1

    threads = Threads()
    for c in clients:
        threads.spawn(worker, c)
    threads.join(60)
    counter = clients[0].Counter("/recipes/counter")
    assert counter.value == 4 * per_client
    counter -= 10
    assert counter.value == 4 * per_client - 10
    # data version counts every successful update
    _, stat = clients[0].get("/recipes/counter")
    assert stat.version == 4 * per_client + 1
    fc = clients[1].Counter("/recipes/fcounter", default=0.0)
    fc += 2.5
    fc -= 1.0
    assert fc.value == pytest.approx(1.5)


def test_queue_priority_and_fifo_order(server, kazoo_factory):
    producer = kazoo_factory(server.hosts)
    q = producer.Queue("/recipes/queue")
    for i in range(5):
        q.put(f"normal-{i}".encode())
    q.put(b"urgent", priority=1)
    q.put(b"late", priority=200)
    assert len(q) == 7
    got = [q.get() for _ in range(7)]
    assert got == [b"urgent"] + [f"normal-{i}".encode() for i in range(5)] + [b"late"]
    assert q.get() is None


def test_queue_items_consumed_exactly_once(server, kazoo_factory):
    producer = kazoo_factory(server.hosts)
    consumers = [kazoo_factory(server.hosts) for _ in range(3)]
    q = producer.Queue("/recipes/queue2")
    items = [f"item-{i:03d}".encode() for i in range(60)]
    for it in items:
        q.put(it)
    consumed = []
    guard = threading.Lock()

    def consume(client):
        cq = client.Queue("/recipes/queue2")
        for _ in range(200):
            v = cq.get()
            if v is None:
                return
            with guard:
                consumed.append(v)

    threads = Threads()
    for c in consumers:
        threads.spawn(consume, c)
    threads.join(60)
    assert sorted(consumed) == items
    assert len(q) == 0


def test_locking_queue(server, kazoo_factory):
    a, b = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    qa = a.LockingQueue("/recipes/lqueue")
    qb = b.LockingQueue("/recipes/lqueue")
    qa.put_all([b"one", b"two"], priority=50)
    qa.put(b"first", priority=10)
    assert len(qa) == 3
    assert qa.get(timeout=T) == b"first"
    assert qa.holds_lock()
    # b skips the item locked by a
    assert qb.get(timeout=T) == b"one"
    # a gives its item back, b consumes its own
    assert qa.release() is True
    assert qb.consume() is True
    assert qa.get(timeout=T) == b"first"
    assert qa.consume() is True
    assert qb.get(timeout=T) == b"two"
    assert qb.consume() is True
    assert len(qa) == 0
    assert qa.get(timeout=0.3) is None
    # a consumer whose session ends releases its item
    qa.put(b"orphan")
    assert qb.get(timeout=T) == b"orphan"
    b.stop()
    assert qa.get(timeout=T) == b"orphan"
    assert qa.consume() is True


def test_party_membership(server, kazoo_factory):
    clients = [kazoo_factory(server.hosts) for _ in range(3)]
    parties = [c.Party("/recipes/party", f"member-{i}") for i, c in enumerate(clients)]
    for p in parties:
        p.join()
    assert len(parties[0]) == 3
    assert sorted(parties[0]) == ["member-0", "member-1", "member-2"]
    parties[1].leave()
    assert sorted(parties[2]) == ["member-0", "member-2"]
    clients[2].stop()  # ephemeral membership ends with the session
    wait_until(lambda: sorted(parties[0]) == ["member-0"], msg="party shrinks after session end")
    shallow = [c.ShallowParty("/recipes/shallow", f"s{i}") for i, c in enumerate(clients[:2])]
    for p in shallow:
        p.join()
    assert sorted(shallow[0]) == ["s0", "s1"]


def test_set_partitioner_splits_and_rebalances(server, kazoo_factory):
    items = {f"p{i}" for i in range(10)}
    a, b = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    pa = a.SetPartitioner("/recipes/partition", set=items, identifier="A", time_boundary=0.5)
    pb = b.SetPartitioner("/recipes/partition", set=items, identifier="B", time_boundary=0.5)

    def settle(partitioners, timeout=T):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in partitioners:
                if p.release:
                    p.release_set()
                elif p.allocating:
                    p.wait_for_acquire(timeout=0.2)
                elif p.failed:
                    raise AssertionError("partitioner failed")
            if all(p.acquired for p in partitioners):
                time.sleep(0.6)  # longer than time_boundary: is it stable?
                if all(p.acquired for p in partitioners):
                    return
            time.sleep(0.05)
        raise AssertionError(f"partitioners not settled after {timeout}s: "
                             f"{[p.state for p in partitioners]}")

    settle([pa, pb])
    sa, sb = set(pa), set(pb)
    assert sa | sb == items
    assert not sa & sb
    assert sa and sb
    b.stop()
    settle([pa])
    assert set(pa) == items
    pa.finish()


def test_children_watch_sees_each_change(server, kazoo_factory):
    watcher_client, writer = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    writer.ensure_path("/recipes/cw")
    seen = []
    cond = threading.Condition()

    @watcher_client.ChildrenWatch("/recipes/cw")
    def on_children(children):
        with cond:
            seen.append(sorted(children))
            cond.notify_all()

    def expect(state):
        with cond:
            assert cond.wait_for(lambda: seen and seen[-1] == state, timeout=T), \
                f"ChildrenWatch never saw {state}; saw {seen}"

    expect([])
    steps = [("create", "a"), ("create", "b"), ("delete", "a"), ("create", "c"), ("delete", "b")]
    state = set()
    for op, name in steps:
        if op == "create":
            writer.create(f"/recipes/cw/{name}")
            state.add(name)
        else:
            writer.delete(f"/recipes/cw/{name}")
            state.discard(name)
        expect(sorted(state))
    assert seen == [[], ["a"], ["a", "b"], ["b"], ["b", "c"], ["c"]]


def test_data_watch_sees_every_change(server, kazoo_factory):
    watcher_client, writer = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    seen = []
    cond = threading.Condition()

    @watcher_client.DataWatch("/recipes/dw")
    def on_data(data, stat, event):
        with cond:
            seen.append((data, stat.version if stat else None,
                         event.type if event else None))
            cond.notify_all()

    def expect(n):
        with cond:
            assert cond.wait_for(lambda: len(seen) >= n, timeout=T), f"DataWatch saw only {seen}"

    writer.ensure_path("/recipes")
    expect(1)
    assert seen[0] == (None, None, None)   # node missing: exists() watch armed
    writer.create("/recipes/dw", b"v0")
    expect(2)
    assert seen[1] == (b"v0", 0, EventType.CREATED)
    for i in range(1, 11):
        writer.set("/recipes/dw", f"v{i}".encode())
        expect(2 + i)
        assert seen[-1] == (f"v{i}".encode(), i, EventType.CHANGED)
    writer.delete("/recipes/dw")
    expect(13)
    assert seen[-1] == (None, None, EventType.DELETED)
    writer.create("/recipes/dw", b"again")
    expect(14)
    assert seen[-1] == (b"again", 0, EventType.CREATED)
    assert len(seen) == 14


def test_tree_cache_mirrors_tree(server, kazoo_factory):
    cache_client, writer = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    writer.create("/recipes/tc/a", b"A", makepath=True)
    writer.create("/recipes/tc/a/x", b"AX")
    events = []
    cond = threading.Condition()
    cache = TreeCache(cache_client, "/recipes/tc")

    def listener(ev):
        with cond:
            events.append(ev)
            cond.notify_all()

    cache.listen(listener)
    cache.start()
    try:
        def wait_event(kind, path):
            def match():
                return any(e.event_type == kind and e.event_data is not None
                           and e.event_data.path == path for e in events)
            with cond:
                assert cond.wait_for(match, timeout=T), \
                    f"no {kind} for {path}; events: {[(e.event_type, e.event_data and e.event_data.path) for e in events]}"

        with cond:
            assert cond.wait_for(lambda: any(e.event_type == TreeEvent.INITIALIZED for e in events),
                                 timeout=T)
        assert sorted(cache.get_children("/recipes/tc")) == ["a"]
        assert cache.get_data("/recipes/tc/a/x").data == b"AX"
        writer.create("/recipes/tc/b", b"B")
        wait_event(TreeEvent.NODE_ADDED, "/recipes/tc/b")
        writer.set("/recipes/tc/a", b"A2")
        wait_event(TreeEvent.NODE_UPDATED, "/recipes/tc/a")
        writer.create("/recipes/tc/b/deep/er", b"D", makepath=True)
        wait_event(TreeEvent.NODE_ADDED, "/recipes/tc/b/deep/er")
        writer.delete("/recipes/tc/a", recursive=True)
        wait_event(TreeEvent.NODE_REMOVED, "/recipes/tc/a/x")
        wait_event(TreeEvent.NODE_REMOVED, "/recipes/tc/a")
        wait_until(lambda: sorted(cache.get_children("/recipes/tc") or []) == ["b"],
                   msg="cache children == [b]")
        assert cache.get_data("/recipes/tc/a") is None
        d = cache.get_data("/recipes/tc/b/deep/er")
        assert d.data == b"D" and d.stat.version == 0
        assert d.stat.czxid == writer.exists("/recipes/tc/b/deep/er").czxid
        assert cache.get_data("/recipes/tc/a/x") is None
    finally:
        cache.close()


# ================================================================================ sessions
def test_ephemeral_disappears_when_client_stops(server, kazoo_factory):
    owner, observer = kazoo_factory(server.hosts), kazoo_factory(server.hosts)
    owner.ensure_path("/sessions")
    owner.create("/sessions/eph", b"x", ephemeral=True)
    st = observer.exists("/sessions/eph")
    assert st is not None and st.ephemeralOwner == owner.client_id[0]
    assert owner.exists("/sessions").ephemeralOwner == 0
    deleted = threading.Event()
    observer.exists("/sessions/eph", watch=lambda ev: ev.type == EventType.DELETED and deleted.set())
    owner.stop()
    assert deleted.wait(T), "observer's exists-watch did not fire NodeDeleted"
    assert observer.exists("/sessions/eph") is None
    # the owner's sequential ephemerals of a new session get fresh names after the old ones
    owner2 = kazoo_factory(server.hosts)
    p1 = owner2.create("/sessions/seq-", ephemeral=True, sequence=True)
    p2 = owner2.create("/sessions/seq-", ephemeral=True, sequence=True)
    assert p1 < p2 and p1.startswith("/sessions/seq-") and len(p1) == len("/sessions/seq-") + 10


def test_session_resume_with_id_and_password_keeps_ephemeral(server, kazoo_factory):
    raw = zkproto.RawSession(server.host, server.port, timeout_ms=20000)
    assert raw.session_id != 0 and len(raw.passwd) == 16
    assert raw.create("/resume", b"").err == 0
    assert raw.create("/resume/e", b"mine", flags=zkproto.EPHEMERAL).err == 0
    raw.close()  # TCP gone, no closeSession: the session lives on
    client = kazoo_factory(server.hosts, client_id=(raw.session_id, raw.passwd))
    assert client.client_id[0] == raw.session_id
    data, stat = client.get("/resume/e")
    assert data == b"mine" and stat.ephemeralOwner == raw.session_id
    # the resumed session can keep using its ephemeral (delete + re-create as its own)
    client.delete("/resume/e")
    client.create("/resume/e", b"again", ephemeral=True)
    assert client.exists("/resume/e").ephemeralOwner == raw.session_id
    other = kazoo_factory(server.hosts)
    client.stop()
    wait_until(lambda: other.exists("/resume/e") is None, msg="ephemeral gone after close")


def test_wrong_password_is_rejected(server, kazoo_factory):
    raw = zkproto.RawSession(server.host, server.port, timeout_ms=20000)
    assert raw.create("/pw", b"", flags=zkproto.EPHEMERAL).err == 0
    wrong = bytes(b ^ 0xFF for b in raw.passwd)
    bad = zkproto.RawSession(server.host, server.port, timeout_ms=20000,
                             session_id=raw.session_id, passwd=wrong)
    try:
        resp = bad.connect_response
        assert resp.timeout_ms <= 0, resp   # the client maps this to SessionExpired
        assert resp.session_id == 0 and resp.passwd == b"\x00" * 16, resp
        zkproto.wait_closed(bad.sock, T)
    finally:
        bad.close()
    # Java quirk: a reconnect for a session closes the session's current connection
    # *before* the password is checked, so the owner's connection is gone ...
    zkproto.wait_closed(raw.sock, T)
    raw.close()
    # ... but the session itself survives: the owner resumes it with the right password
    owner = zkproto.RawSession(server.host, server.port, timeout_ms=20000,
                               session_id=raw.session_id, passwd=raw.passwd)
    assert owner.session_id == raw.session_id and owner.timeout_ms == 20000
    rep = owner.exists("/pw")
    assert rep.err == 0
    assert zkproto.Reader(rep.body).stat().ephemeral_owner == raw.session_id
    owner.close_session()
    observer = kazoo_factory(server.hosts)
    assert observer.exists("/pw") is None


def test_kazoo_reconnects_to_same_session_after_connection_drop(server, kazoo_factory):
    client = kazoo_factory(server.hosts, timeout=10.0)
    states = []
    client.add_listener(lambda s: states.append(s))
    client.create("/drop-eph", b"x", ephemeral=True)
    sid = client.client_id[0]
    sock = getattr(getattr(client, "_connection", None), "_socket", None)
    if sock is None:
        pytest.skip("kazoo internals changed: no _connection._socket")
    sock.shutdown(socket.SHUT_RDWR)
    wait_until(lambda: KazooState.SUSPENDED in states, msg="SUSPENDED state")
    wait_until(lambda: states and states[-1] == KazooState.CONNECTED and client.connected,
               msg="reconnected")
    assert KazooState.LOST not in states
    assert client.client_id[0] == sid
    assert client.exists("/drop-eph").ephemeralOwner == sid


def test_session_timeout_is_negotiated(server):
    # defaults: minSessionTimeout = 2*tickTime = 4000, maxSessionTimeout = 20*tickTime = 40000
    for requested, expected in ((1000, 4000), (10000, 10000), (100000, 40000)):
        raw = zkproto.RawSession(server.host, server.port, timeout_ms=requested)
        try:
            assert raw.timeout_ms == expected, (requested, raw.timeout_ms)
            assert raw.connect_response.protocol_version == 0
            assert raw.connect_response.read_only is False
        finally:
            raw.close_session()


def test_session_expiry_removes_ephemerals_and_pings_keep_alive(server, kazoo_factory):
    observer = kazoo_factory(server.hosts)
    observer.ensure_path("/expiry")
    silent = zkproto.RawSession(server.host, server.port, timeout_ms=4000)
    pinger = zkproto.RawSession(server.host, server.port, timeout_ms=4000)
    assert silent.timeout_ms == 4000 and pinger.timeout_ms == 4000
    assert silent.create("/expiry/silent", b"", flags=zkproto.EPHEMERAL).err == 0
    assert pinger.create("/expiry/pinger", b"", flags=zkproto.EPHEMERAL).err == 0
    deleted = threading.Event()
    observer.exists("/expiry/silent",
                    watch=lambda ev: ev.type == EventType.DELETED and deleted.set())
    start = time.monotonic()
    # keep one session alive by pinging every second; the other says nothing at all
    while not deleted.is_set() and time.monotonic() - start < 15:
        pinger.ping()
        deleted.wait(1.0)
    elapsed = time.monotonic() - start
    assert deleted.is_set(), "silent session's ephemeral not removed within 15s"
    assert elapsed >= 3.5, f"session expired too early ({elapsed:.1f}s < 4s timeout)"
    assert observer.exists("/expiry/silent") is None
    assert observer.exists("/expiry/pinger").ephemeralOwner == pinger.session_id
    # the expired session's connection is closed by the server
    zkproto.wait_closed(silent.sock, 10)
    silent.close()
    # resuming the expired session is refused
    again = zkproto.RawSession(server.host, server.port, timeout_ms=4000,
                               session_id=silent.session_id, passwd=silent.passwd)
    try:
        assert again.connect_response.timeout_ms <= 0
    finally:
        again.close()
    # kazoo, asked to resume the expired session, ends up with a fresh one
    client = kazoo_factory(server.hosts, client_id=(silent.session_id, silent.passwd))
    wait_until(lambda: client.connected and client.client_id[0] != silent.session_id,
               msg="kazoo got a fresh session")
    pinger.close_session()
    wait_until(lambda: observer.exists("/expiry/pinger") is None, msg="pinger's ephemeral removed")
