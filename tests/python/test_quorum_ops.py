"""Operational quorum scenarios (issue 4).

* rolling replacement: a 3-member Apache ZooKeeper 3.8 ensemble under continuous kazoo writes
  has its members replaced one at a time (followers first, the leader last) by ferrokeeper on
  the same zoo.cfg, myid, dataDir and ports; every acknowledged write is on every member at the
  end, and the trees (data and stats) are identical across members.
* partition: 3 ferrokeeper members, each in its own network namespace on a bridge (inside a
  private net+mount+pid namespace); the leader's veth goes down; the isolated leader stops
  serving writes and leaves leader mode, the other two elect a leader and keep serving writes;
  after healing, the old leader is a follower and a write sent to it while it was isolated is
  nowhere.

Needs FK_TEST_SERVERS to include java (rolling replacement) and root with namespaces
(partition).  This file is also the driver run inside the namespaces:
``python3 test_quorum_ops.py partition-driver <workdir>``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))

import zkharness as h  # noqa: E402
from test_quorum import client_on, ensemble_factory  # noqa: E402,F401  (fixture)

# ---------------------------------------------------------------------------------------------
# 1. rolling replacement Java -> ferrokeeper


def tree_of(zk, path: str = "/") -> Dict[str, tuple]:
    """Every znode below path (inclusive): data, czxid, mzxid, pzxid, version, cversion,
    ephemeralOwner, children count."""
    out = {}
    stack = [path]
    while stack:
        p = stack.pop()
        data, st = zk.get(p)
        out[p] = (data, st.czxid, st.mzxid, st.pzxid, st.version, st.cversion, st.aversion,
                  st.ephemeralOwner, st.numChildren)
        for child in zk.get_children(p):
            stack.append((p.rstrip("/") + "/" + child))
    return out


def test_rolling_replacement_java_to_ferrokeeper(ensemble_factory, kazoo_factory):
    started = time.monotonic()
    ensemble = ensemble_factory(["java"] * 3)
    assert ensemble.leader().kind == "java" and len(ensemble.followers()) == 2
    writer = kazoo_factory(ensemble.hosts(), timeout=6.0,
                           connection_retry={"max_tries": -1, "delay": 0.05, "max_delay": 0.5})
    writer.ensure_path("/roll")
    acknowledged: List[str] = []
    failures: List[str] = []
    stop = threading.Event()
    max_writes = 20000

    def write_loop():
        i = 0
        while not stop.is_set() and i < max_writes:
            path = f"/roll/n{i:06d}"
            data = f"v{i}".encode()
            i += 1
            try:
                writer.create(path, data)
                acknowledged.append(path)
            except Exception as error:  # ConnectionLoss while a member goes: not acknowledged
                failures.append(type(error).__name__)
                time.sleep(0.05)

    thread = threading.Thread(target=write_loop, daemon=True)
    thread.start()
    try:
        time.sleep(1.0)
        steps = []
        for step in range(3):
            java = [m for m in ensemble.members if m.kind == "java"]
            modes = {m.sid: m.mode() for m in java}
            # followers first, the leader last
            m = next((j for j in java if modes[j.sid] == "follower"), None) if step < 2 else java[0]
            assert m is not None, modes
            was = modes[m.sid]
            assert was == ("leader" if step == 2 else "follower"), (step, modes)
            m.stop(signal.SIGTERM)
            down = len(acknowledged)
            # writes go on with two members: the newcomer has to catch up
            deadline = time.monotonic() + 20
            while len(acknowledged) < down + 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(acknowledged) >= down + 100, (failures[-10:], m.sid)
            before = len(acknowledged)
            m.kind = "ferrokeeper"
            t0 = time.monotonic()
            m._start_once(45.0)  # same zoo.cfg, myid, dataDir, ports; waits for "Mode:"
            deadline = time.monotonic() + 30
            while m.mode() not in ("follower", "leader") and time.monotonic() < deadline:
                time.sleep(0.1)
            assert m.mode() in ("follower", "leader"), m.log_tail(40)
            ensemble.wait_formed(timeout=30)
            # writes keep being acknowledged with this member back
            deadline = time.monotonic() + 20
            while len(acknowledged) < before + 50 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(acknowledged) >= before + 50, (failures[-10:], m.sid)
            steps.append(f"sid {m.sid} (java {was}; {before - down} writes while down) -> "
                         f"ferrokeeper {m.mode()} in {time.monotonic() - t0:.1f} s")
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    assert all(m.kind == "ferrokeeper" and m.is_running() for m in ensemble.members)
    modes = sorted(m.mode() for m in ensemble.members)
    assert modes == ["follower", "follower", "leader"], modes
    trees = {}
    for m in ensemble.members:
        zk = client_on(kazoo_factory, m)
        zk.sync("/")
        present = set(zk.get_children("/roll"))
        missing = [p for p in acknowledged if p.rsplit("/", 1)[1] not in present]
        assert not missing, f"member {m.sid} lacks {len(missing)} acknowledged writes: {missing[:5]}"
        for p in acknowledged[:: max(1, len(acknowledged) // 200)]:
            assert zk.get(p)[0] == f"v{int(p[-6:])}".encode()
        trees[m.sid] = tree_of(zk)
        zk.stop()
    first = trees[ensemble.members[0].sid]
    for sid, tree in trees.items():
        diff = sorted(set(first.items()) ^ set(tree.items()))
        assert not diff, f"member {sid} tree differs from member 1: {diff[:5]}"
    elapsed = time.monotonic() - started
    print(f"\nrolling replacement: {'; '.join(steps)}; {len(acknowledged)} writes acknowledged, "
          f"{len(failures)} failed attempts; {len(first)} znodes identical on 3 members; "
          f"{elapsed:.1f} s")
    assert elapsed < 90


# ---------------------------------------------------------------------------------------------
# 2. partition of the leader (network namespaces on a bridge)

SUBNET = "10.232.0"          # private to the test's own network namespace
TICK_MS = 500
SYNC_LIMIT = 4


def _partition_unusable() -> str | None:
    for tool in ("unshare", "ip", "nft"):
        if shutil.which(tool) is None:
            return f"{tool} missing"
    if os.geteuid() != 0:
        return "needs root for network/mount/pid namespaces"
    probe = subprocess.run(["unshare", "--net", "--uts", "--mount", "--fork", "true"],
                           capture_output=True, timeout=10)
    if probe.returncode != 0:
        return f"cannot create namespaces: {probe.stderr.decode().strip()}"
    return None


def _sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(list(args), capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: rc={r.returncode} {r.stderr.strip()}")
    return r


class NsMember:
    def __init__(self, workdir: Path, sid: int):
        self.sid = sid
        self.ns = f"fkp-{sid}"
        self.ip = f"{SUBNET}.{10 + sid}"
        self.dir = workdir / f"m{sid}"
        (self.dir / "data").mkdir(parents=True, exist_ok=True)
        (self.dir / "data" / "myid").write_text(f"{sid}\n")
        self.log = self.dir / "server.log"
        self.proc = None

    def write_cfg(self, sids: List[int]) -> None:
        lines = [f"tickTime={TICK_MS}", "initLimit=10", f"syncLimit={SYNC_LIMIT}",
                 f"dataDir={self.dir / 'data'}", "clientPort=2181", "4lw.commands.whitelist=*",
                 "admin.enableServer=false"]
        lines += [f"server.{s}={SUBNET}.{10 + s}:2888:3888" for s in sids]
        (self.dir / "zoo.cfg").write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        out = open(self.log, "ab")
        self.proc = subprocess.Popen(["ip", "netns", "exec", self.ns, str(h.FK_BINARY), "serve",
                                      str(self.dir / "zoo.cfg")],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                     env={**os.environ, "RUST_LOG": "info"})

    def mode(self):
        try:
            srvr = h.four_letter(2181, "srvr", timeout=2.0, host=self.ip)
        except OSError:
            return None
        for line in srvr.splitlines():
            if line.startswith("Mode: "):
                return line[len("Mode: "):].strip()
        return None

    def isolate(self, others: List["NsMember"]) -> None:
        """Drop everything between this member and the other members (the test's own client
        address, the bridge, still reaches it)."""
        peers = ", ".join(o.ip for o in others)
        ns = ["ip", "netns", "exec", self.ns, "nft"]
        _sh(*ns, "add", "table", "inet", "fkpart")
        for chain, hook, field in (("in", "input", "saddr"), ("out", "output", "daddr")):
            _sh(*ns, "add", "chain", "inet", "fkpart", chain,
                f"{{ type filter hook {hook} priority 0; policy accept; }}")
            _sh(*ns, "add", "rule", "inet", "fkpart", chain, "ip", field, f"{{ {peers} }}", "drop")

    def heal(self) -> None:
        _sh("ip", "netns", "exec", self.ns, "nft", "delete", "table", "inet", "fkpart")


def in_txnlog(member: "NsMember", needle: bytes) -> bool:
    logs = sorted((member.dir / "data" / "version-2").glob("log.*"))
    return any(needle in p.read_bytes() for p in logs)


def _wait(cond, timeout: float, what: str, step: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s: {what}")


def partition_driver(workdir: Path) -> dict:
    """Runs as PID 1 of a private net+mount+pid namespace: everything started here dies with it."""
    from kazoo.client import KazooClient

    facts: dict = {}
    t_start = time.monotonic()
    _sh("mkdir", "-p", "/run/netns")
    _sh("mount", "-t", "tmpfs", "fkp-netns", "/run/netns")
    _sh("ip", "link", "set", "lo", "up")
    _sh("ip", "link", "add", "fkpbr0", "type", "bridge")
    _sh("ip", "addr", "add", f"{SUBNET}.1/24", "dev", "fkpbr0")
    _sh("ip", "link", "set", "fkpbr0", "up")
    members = [NsMember(workdir, sid) for sid in (1, 2, 3)]
    for m in members:
        _sh("ip", "netns", "add", m.ns)
        _sh("ip", "link", "add", f"vp-{m.sid}", "type", "veth", "peer", "name", "eth0", "netns", m.ns)
        _sh("ip", "link", "set", f"vp-{m.sid}", "master", "fkpbr0")
        _sh("ip", "link", "set", f"vp-{m.sid}", "up")
        _sh("ip", "-n", m.ns, "addr", "add", f"{m.ip}/24", "dev", "eth0")
        _sh("ip", "-n", m.ns, "link", "set", "eth0", "up")
        _sh("ip", "-n", m.ns, "link", "set", "lo", "up")
        m.write_cfg([1, 2, 3])
        m.start()
    clients = []

    def client(ms: List[NsMember], **kw):
        kw.setdefault("connection_retry", {"max_tries": -1, "delay": 0.05, "max_delay": 0.5})
        zk = KazooClient(hosts=",".join(f"{m.ip}:2181" for m in ms), **kw)
        clients.append(zk)
        zk.start(timeout=15)
        return zk

    def formed():
        modes = {m.sid: m.mode() for m in members}
        vals = list(modes.values())
        return modes if sorted(map(str, vals)) == ["follower", "follower", "leader"] else None

    try:
        facts["modes_formed"] = _wait(formed, 45, "ensemble forms")
        leader = next(m for m in members if m.mode() == "leader")
        rest = [m for m in members if m is not leader]
        facts["old_leader"] = leader.sid
        zk_all = client(members, timeout=10.0)
        zk_all.ensure_path("/part")
        for i in range(20):
            zk_all.create(f"/part/before-{i:02d}", b"b")
        # a session on the leader alone, established before the partition
        on_leader = client([leader], timeout=10.0,
                           connection_retry={"max_tries": 0, "delay": 0.05, "max_delay": 0.5})
        on_leader.create("/part/leader-session-ok", b"1")

        # ---- partition
        leader.isolate(rest)
        t_cut = time.monotonic()
        pending = on_leader.create_async("/part/isolated-write", b"must never be committed")
        left_at = None
        isolated_modes = []
        while time.monotonic() - t_cut < 20:
            mode = leader.mode()
            isolated_modes.append(mode)
            if mode != "leader":
                left_at = time.monotonic() - t_cut
                break
            time.sleep(0.05)
        facts["isolated_leader_left_leader_mode_after_s"] = left_at
        # the proposal reached the isolated leader's own txn log: an uncommitted tail
        facts["isolated_write_in_old_leader_txnlog"] = in_txnlog(leader, b"/part/isolated-write")
        assert left_at is not None, f"isolated leader still leader after 20 s: {isolated_modes[-3:]}"
        try:
            facts["isolated_write"] = f"ACKNOWLEDGED {pending.get(timeout=15)!r}"
        except Exception as error:
            facts["isolated_write"] = f"failed: {type(error).__name__}"
        assert not facts["isolated_write"].startswith("ACK"), facts["isolated_write"]

        def new_leader():
            modes = {m.sid: m.mode() for m in rest}
            return modes if sorted(map(str, modes.values())) == ["follower", "leader"] else None

        facts["majority_modes"] = _wait(new_leader, 30, "the majority elects a leader")
        facts["new_leader_after_s"] = time.monotonic() - t_cut
        zk_maj = client(rest, timeout=10.0)
        acked = []
        for i in range(50):
            zk_maj.create(f"/part/during-{i:02d}", b"d")
            acked.append(f"during-{i:02d}")
        facts["majority_writes_acknowledged"] = len(acked)
        # still partitioned: the old leader does not serve (not leader, not a synced follower)
        facts["isolated_mode_during"] = leader.mode()
        assert facts["isolated_mode_during"] not in ("leader", "follower")

        # ---- heal
        leader.heal()
        t_heal = time.monotonic()
        facts["modes_healed"] = _wait(formed, 30, "the old leader rejoins")
        facts["rejoined_after_s"] = time.monotonic() - t_heal
        facts["old_leader_mode"] = leader.mode()
        assert facts["old_leader_mode"] == "follower"
        for zk in list(clients):
            zk.stop()
            zk.close()
        clients.clear()
        trees = {}
        for m in members:
            zk = client([m], timeout=10.0)
            zk.sync("/")
            children = set(zk.get_children("/part"))
            assert "isolated-write" not in children, f"member {m.sid} has the isolated write"
            missing = [c for c in acked if c not in children]
            assert not missing, f"member {m.sid} lacks {missing[:5]}"
            trees[m.sid] = tree_of(zk)
            zk.stop()
        first = trees[1]
        for sid, tree in trees.items():
            diff = sorted(set(first.items()) ^ set(tree.items()), key=repr)
            assert not diff, f"member {sid} tree differs from member 1: {diff[:5]}"
        facts["znodes_identical"] = len(first)
        # the discarded tail stays discarded when the old leader recovers from its own disk
        leader.proc.send_signal(signal.SIGKILL)
        leader.proc.wait(10)
        leader.start()
        t_restart = time.monotonic()
        _wait(formed, 30, "the old leader rejoins after kill -9")
        facts["restarted_rejoined_after_s"] = time.monotonic() - t_restart
        zk = client([leader], timeout=10.0)
        zk.sync("/")
        assert zk.exists("/part/isolated-write") is None, "the isolated write came back after a restart"
        assert tree_of(zk) == first, "the old leader's tree differs after a restart"
        zk.stop()
        # ... and is gone from it once it follows the new leader (TRUNC, or SNAP, which Java
        # also sends when the follower's tail is from an older epoch than the leader's next txn)
        facts["isolated_write_in_old_leader_txnlog_after"] = in_txnlog(leader, b"/part/isolated-write")
        log = leader.log.read_text(errors="replace")
        facts["old_leader_sync"] = [line.split(" - ", 1)[-1][:120] for line in log.splitlines()
                                    if "from leader" in line or "TRUNC" in line or "runcat" in line][-3:]
        facts["elapsed_s"] = time.monotonic() - t_start
        facts["ok"] = True
    except BaseException as error:  # reported to the test
        import traceback
        facts["ok"] = False
        facts["error"] = "".join(traceback.format_exception(error))[-3000:]
    finally:
        for zk in clients:
            try:
                zk.stop()
                zk.close()
            except Exception:
                pass
        for m in members:
            if m.proc is not None:
                m.proc.send_signal(signal.SIGKILL)
                m.proc.wait(10)
    return facts


def test_partitioned_leader_steps_down_and_is_truncated(tmp_path):
    import pytest

    reason = h.ferrokeeper_available() or _partition_unusable()
    if reason:
        pytest.skip(reason)
    started = time.monotonic()
    result = tmp_path / "result.json"
    r = subprocess.run(["unshare", "--net", "--mount", "--pid", "--fork", "--kill-child",
                        sys.executable, str(Path(__file__).resolve()), "partition-driver",
                        str(tmp_path), str(result)],
                       capture_output=True, text=True, timeout=120)
    logs = "\n".join(f"---- member {s}\n" + (tmp_path / f"m{s}" / "server.log").read_text(errors="replace")[-2500:]
                     for s in (1, 2, 3) if (tmp_path / f"m{s}" / "server.log").exists())
    assert result.exists(), (r.returncode, r.stdout[-2000:], r.stderr[-3000:], logs)
    facts = json.loads(result.read_text())
    print("\npartition: " + json.dumps({k: v for k, v in facts.items() if k != "error"}))
    assert facts["ok"], facts.get("error", "") + "\n" + logs
    # the isolated leader gives up leadership within syncLimit ticks (plus scheduling slack)
    assert facts["isolated_leader_left_leader_mode_after_s"] < SYNC_LIMIT * TICK_MS / 1000 + 5
    # the write sent to the isolated leader was in its txn log (an uncommitted tail) ...
    assert facts["isolated_write_in_old_leader_txnlog"] is True
    # ... was never acknowledged, and is on no member after healing (asserted by the driver)
    assert facts["isolated_write"].startswith("failed")
    assert time.monotonic() - started < 90


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "partition-driver":
    out = partition_driver(Path(sys.argv[2]))
    Path(sys.argv[3]).write_text(json.dumps(out, default=str))
