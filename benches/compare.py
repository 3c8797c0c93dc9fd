#!/usr/bin/env python3
"""Side-by-side benchmark: Apache ZooKeeper 3.8 (Debian's package) vs ferrokeeper, in one run.

    python3 benches/compare.py            # full run (about 15 minutes on the 2-core machine)
    python3 benches/compare.py --quick    # every row, smaller sizes (under 3 minutes)
    python3 benches/compare.py --smoke    # a few hundred ops: checks the table's shape (CI)

Both servers get equivalent settings: forceSync=yes, tickTime=2000, initLimit=10, syncLimit=5,
snapCount 100000 unless a row says otherwise, dataDirs side by side under --workdir (same disk),
the same port layout (client, quorum, election ports in parallel ranges), the admin server off.
Java runs with -Xmx2g (the 1 M-znode rows need more than zkServer.sh's 1000 MB default to stay
out of full GCs) and JDK defaults otherwise.

Throughput rows run the same loadgen command (benches/loadgen) against Java and then ferrokeeper
while both are up, row by row, so the machine's noise hits both sides of a ratio alike. Then,
one server at a time on standalone servers: RSS idle, RSS with N znodes of 100 B, recovery time
of those N znodes (start to serving), snapshot size, and the p99 of an open-loop setData load
while snapshots are written (a small snapCount) vs without: runs without and with snapshots
alternate (three pairs in the full plan), and the target compares, within the runs with
snapshots, the requests in flight while a snapshot file was being written against the others
(SnapshotWindows). On 3-member loopback ensembles: the
throughput rows again, and the election time after killing the leader (kill -9 to a new leader
and a follower both answering srvr with their mode).

Before each section and at the end, with no server running, a disk probe times 600-byte appends
each fdatasync'ed at 2,000/s for 3 s in the workdir: the header prints its p99, max and count of
syncs over 20 ms, the floor under every p99 row (both servers sync before they acknowledge).
Before the big tree it also runs beside a snapshot-like writer, on new blocks and then in place:
a disk whose host allocates blocks on first write stalls more in the first (the header says so).

Every run is bounded in time; every process started is killed at exit; only 127.0.0.1 is used.
The table goes to stdout and, as JSON, to <workdir>/results.json.
"""

from __future__ import annotations

import argparse
import atexit
import bisect
import errno
import json
import mmap
import os
import shutil
import signal
import statistics
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
LOADGEN = ROOT / "target" / "release" / "loadgen"
FERROKEEPER = ROOT / "target" / "release" / "ferrokeeper"
JAVA_CP = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"]
HOST = "127.0.0.1"
KINDS = ("java", "ferrokeeper")
# Port layout: the same offsets for both kinds (client, quorum, election per member).
BASE_PORT = {"java": 24000, "ferrokeeper": 25000}

PROCESSES: List[subprocess.Popen] = []


def cleanup() -> None:
    for proc in PROCESSES:
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait(timeout=10)


atexit.register(cleanup)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def four_letter(port: int, word: str, timeout: float = 2.0) -> str:
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(word.encode())
        chunks = []
        while True:
            data = s.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def mode_of(port: int) -> Optional[str]:
    try:
        for line in four_letter(port, "srvr").splitlines():
            if line.startswith("Mode: "):
                return line[6:].strip()
    except OSError:
        return None
    return None


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Server:
    """One server process (standalone or ensemble member) with its own dataDir and zoo.cfg."""

    def __init__(self, kind: str, workdir: Path, member: int = 0, ensemble: int = 0,
                 extra: Optional[Dict[str, str]] = None):
        self.kind, self.member, self.ensemble = kind, member, ensemble
        self.dir = workdir / (f"{kind}-{member}" if ensemble else f"{kind}-standalone")
        self.data = self.dir / "data"
        base = BASE_PORT[kind] + (100 if ensemble else 0)
        self.port = base + 1 + member
        self.cfg = {
            "tickTime": "2000", "initLimit": "10", "syncLimit": "5",
            "dataDir": str(self.data), "clientPort": str(self.port), "clientPortAddress": HOST,
            "forceSync": "yes", "snapCount": "100000", "maxClientCnxns": "0",
            "4lw.commands.whitelist": "*", "admin.enableServer": "false",
        }
        for m in range(1, ensemble + 1):
            self.cfg[f"server.{m}"] = f"{HOST}:{base + 10 + m}:{base + 20 + m}"
        self.cfg.update(extra or {})
        self.proc: Optional[subprocess.Popen] = None

    def fresh(self) -> "Server":
        shutil.rmtree(self.dir, ignore_errors=True)
        self.data.mkdir(parents=True)
        if self.ensemble:
            (self.data / "myid").write_text(f"{self.member}\n")
        return self

    def command(self) -> List[str]:
        cfg = self.dir / "zoo.cfg"
        cfg.write_text("".join(f"{k}={v}\n" for k, v in self.cfg.items()))
        if self.kind == "java":
            return ["java", "-Xmx2g", "-Dzookeeper.admin.enableServer=false",
                    "-cp", ":".join(p for p in JAVA_CP if Path(p).exists()),
                    "org.apache.zookeeper.server.quorum.QuorumPeerMain", str(cfg)]
        return [str(FERROKEEPER), "serve", str(cfg)]

    def launch(self) -> float:
        started = time.monotonic()
        logfile = open(self.dir / "server.log", "ab")
        self.proc = subprocess.Popen(self.command(), cwd=self.dir, stdin=subprocess.DEVNULL,
                                     stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True,
                                     env=dict(os.environ, RUST_LOG="warn"))
        PROCESSES.append(self.proc)
        return started

    def wait_serving(self, started: float, timeout: float = 120.0) -> float:
        """Seconds from `started` until srvr reports a mode (the server serves clients)."""
        deadline = started + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} exited ({self.proc.returncode}); see {self.dir}/server.log")
            if mode_of(self.port):
                return time.monotonic() - started
            time.sleep(0.01)
        raise TimeoutError(f"{self.kind} on {self.port} not serving after {timeout} s")

    def start(self) -> float:
        return self.wait_serving(self.launch())

    def stop(self, sig=signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
            except OSError:
                pass
        self.proc = None

    def rss_kib(self) -> int:
        return rss_kib(self.proc.pid)

    def discard(self) -> None:
        """Stops the server and removes its dataDir (the server log stays): a full run writes
        tens of GB of logs and snapshots, and the next section needs the disk."""
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def snapshots(self) -> List[Path]:
        return sorted(self.data.rglob("snapshot.*"), key=lambda p: p.stat().st_mtime)

    def wait_startup_snapshot(self, before: int, timeout: float = 30.0) -> None:
        """Both servers snapshot right after recovering (Java before it serves, ferrokeeper on its
        snapshot thread once it serves): wait for that one, so a row measured next does not carry it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.snapshots()) > before and not any(self.data.rglob("tmp.*")):
                return
            time.sleep(0.1)
        log(f"{self.kind}: no startup snapshot within {timeout:.0f} s")


def loadgen(servers: List[Server], label: str, timeout: float, **args) -> dict:
    command = [str(LOADGEN), "--servers", ",".join(f"{HOST}:{s.port}" for s in servers),
               "--json", "--no-header", "--label", label]
    for key, value in args.items():
        flag = "--" + key.replace("_", "-")
        command += [flag] if value is True else [flag, str(value)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    lines = [line for line in result.stdout.splitlines() if line.startswith("{")]
    if result.returncode != 0 or not lines:
        raise RuntimeError(f"loadgen failed ({result.returncode}): {' '.join(command)}\n"
                           f"{result.stdout}\n{result.stderr}")
    data = json.loads(lines[-1])
    if data["ops"] == 0:
        log(f"WARNING: {label} {args.get('op')}: no request completed in the measured window")
    return data


class Table:
    def __init__(self) -> None:
        self.rows: List[dict] = []

    def add(self, section: str, metric: str, java, ferrokeeper, unit: str, target: str = "",
            better: str = "higher", met_if=None) -> None:
        ratio = None
        if isinstance(java, (int, float)) and isinstance(ferrokeeper, (int, float)) and java:
            ratio = ferrokeeper / java
        met = ""
        if met_if is not None and ratio is not None:
            met = "yes" if met_if(ratio) else "NO"
        row = dict(section=section, metric=metric, java=java, ferrokeeper=ferrokeeper, unit=unit,
                   ratio=ratio, target=target, met=met)
        self.rows.append(row)
        log(f"{section} | {metric}: java {fmt(java)} fk {fmt(ferrokeeper)} {unit} ratio {fmt(ratio, 2)}")

    def print(self, header: str) -> str:
        lines = [header, "",
                 "| section | metric | Java 3.8 | ferrokeeper | unit | fk / Java | target | met |",
                 "|---|---|---:|---:|---|---:|---|---|"]
        for r in self.rows:
            lines.append(f"| {r['section']} | {r['metric']} | {fmt(r['java'])} | {fmt(r['ferrokeeper'])} | "
                         f"{r['unit']} | {fmt(r['ratio'], 2)} | {r['target']} | {r['met']} |")
        return "\n".join(lines)


def fmt(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if digits:
        return f"{value:.{digits}f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


# ------------------------------------------------------------------------------------------------

def measured_run(servers: List[Server], kind: str, timeout: float, **args) -> dict:
    """One measured loadgen run, run once more if it fails: a Java follower once left a session's
    first sync unanswered for 30 s and the whole 23-minute run stopped there. A second failure
    stops the run; the first is logged, so the log says that it happened."""
    try:
        return loadgen(servers, kind, timeout, **args)
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        log(f"WARNING: {kind} {args.get('op')}: a run failed, running it once more: {error}")
        return loadgen(servers, kind, timeout, **args)


def throughput_rows(table: Table, section: str, servers: Dict[str, List[Server]], plan: dict,
                    ensemble: bool) -> None:
    """Closed-loop rows and open-loop p99 rows, Java then ferrokeeper for each row."""
    d = plan["duration"]
    common = dict(sessions=plan["sessions"], inflight=plan["inflight"], duration=d, warmup=plan["warmup"],
                  nodes=plan["nodes"])
    timeout = d + plan["warmup"] + 120
    # Working set and JIT warm-up (not measured).
    for kind in KINDS:
        loadgen(servers[kind], kind, timeout, op="mixed", **dict(common, duration=plan["warmup_run"]))
    write_target = ">= 3x" if ensemble else ""
    read_target = ">= 2x" if ensemble else ""
    measured: Dict[str, dict] = {}
    for op, size, target, check in plan["rows"]:
        if op in ("setdata", "create", "multi"):
            target, check = write_target, (lambda r: r >= 3) if ensemble else None
        elif op in ("getdata", "exists", "getchildren"):
            target, check = read_target, (lambda r: r >= 2) if ensemble else None
        # With --repeat N the kinds alternate N times and each keeps its best run: on a shared
        # machine a neighbour's burst then costs a row one of its runs, not its result.
        runs = {kind: [] for kind in KINDS}
        for _ in range(plan.get("repeat", 1)):
            for kind in KINDS:
                runs[kind].append(measured_run(servers[kind], kind, timeout, op=op, value_size=size,
                                               no_setup=True, **common))
        results = {kind: max(runs[kind], key=lambda r: r["ops_per_sec"]) for kind in KINDS}
        for kind in KINDS:
            if results[kind]["errors"]:
                raise RuntimeError(f"{kind} {op}: {results[kind]['errors']} errors")
        measured[(op, size)] = results
        name = f"{op} {size} B ({plan['sessions']}x{plan['inflight']})"
        table.add(section, f"{name} ops/s", results["java"]["ops_per_sec"],
                  results["ferrokeeper"]["ops_per_sec"], "ops/s", target, met_if=check)
        table.add(section, f"{name} p99", results["java"]["p99_us"] / 1000,
                  results["ferrokeeper"]["p99_us"] / 1000, "ms")
    # p99 at the same offered load: open loop at half of Java's closed-loop throughput.
    for op in ("setdata", "getdata", "mixed"):
        if (op, 100) not in measured:
            continue
        rate = max(100, round(measured[(op, 100)]["java"]["ops_per_sec"] * 0.5, -2))
        results = {kind: measured_run(servers[kind], kind, timeout, op=op, value_size=100, no_setup=True,
                                      rate=rate, **dict(common, inflight=64)) for kind in KINDS}
        table.add(section, f"{op} p99 at {rate:,.0f} ops/s offered (50% of Java's max)",
                  results["java"]["p99_us"] / 1000, results["ferrokeeper"]["p99_us"] / 1000, "ms",
                  "<= 0.33x" if ensemble else "", met_if=(lambda r: r <= 1 / 3) if ensemble else None)


def standalone_section(table: Table, workdir: Path, plan: dict) -> None:
    servers = {kind: [Server(kind, workdir).fresh()] for kind in KINDS}
    try:
        rss_idle = {}
        for kind in KINDS:
            servers[kind][0].start()
        time.sleep(2)
        for kind in KINDS:
            rss_idle[kind] = servers[kind][0].rss_kib() / 1024
        table.add("standalone", "RSS idle (fresh start)", rss_idle["java"], rss_idle["ferrokeeper"], "MiB",
                  "<= 0.1x", "lower", met_if=lambda r: r <= 0.1)
        throughput_rows(table, "standalone", servers, plan, ensemble=False)
    finally:
        for kind in KINDS:
            servers[kind][0].discard()


class SnapshotWindows:
    """While a run goes on, polls a server's version-2 directory and records when a snapshot is
    being written: a tmp.snapshot.* file is there (ferrokeeper writes one, fsyncs it, then renames
    it) or a snapshot file appeared or grew since the last look (Java writes snapshot.<zxid> in
    place and does not fsync it). Windows are [previous poll, poll] spans, merged."""

    POLL_S = 0.005

    def __init__(self, data: Path) -> None:
        self.dir = data / "version-2"
        self.windows: List[Tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "SnapshotWindows":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _sizes(self) -> Tuple[Dict[str, int], bool]:
        sizes, writing = {}, False
        for entry in os.scandir(self.dir):
            if entry.name.startswith("tmp.snapshot."):
                writing = True
            elif entry.name.startswith("snapshot."):
                try:
                    sizes[entry.name] = entry.stat().st_size
                except FileNotFoundError:
                    pass
        return sizes, writing

    def _run(self) -> None:
        sizes, _ = self._sizes()
        previous = time.time()
        while not self._stop.wait(self.POLL_S):
            now_sizes, writing = self._sizes()
            now = time.time()
            if writing or any(sizes.get(name) != size for name, size in now_sizes.items()):
                if self.windows and self.windows[-1][1] >= previous:
                    self.windows[-1] = (self.windows[-1][0], now)
                else:
                    self.windows.append((previous, now))
            sizes, previous = now_sizes, now

    def split(self, latency_log: Path) -> Tuple[List[int], List[int]]:
        """The latencies (µs) of the logged requests in flight during a window, and of the others."""
        starts = [start for start, _ in self.windows]
        during, outside = [], []
        for line in latency_log.read_text().splitlines():
            sent_us, latency_us = (int(x) for x in line.split())
            sent, done = sent_us / 1e6, (sent_us + latency_us) / 1e6
            # The last window starting before the request is done is the only one it can overlap
            # that has not ended before the request was sent (windows are disjoint and ordered).
            i = bisect.bisect_right(starts, done) - 1
            (during if i >= 0 and self.windows[i][1] >= sent else outside).append(latency_us)
        return during, outside


def p99_ms(latencies_us: List[int]) -> float:
    """Nearest-rank p99 of `latencies_us`, in ms (NaN for none)."""
    if not latencies_us:
        return float("nan")
    ordered = sorted(latencies_us)
    return ordered[max(0, -(-99 * len(ordered) // 100) - 1)] / 1000


DISK_STALL_MS = 20


def sync_summary(latencies_us: List[int]) -> dict:
    """p50 / p99 (nearest rank) / max in ms of fdatasync latencies, and how many took over
    DISK_STALL_MS."""
    ordered = sorted(latencies_us)
    if not ordered:
        return dict(syncs=0, p50_ms=float("nan"), p99_ms=float("nan"), max_ms=float("nan"), stalls=0)
    return dict(syncs=len(ordered), p50_ms=ordered[(len(ordered) - 1) // 2] / 1000, p99_ms=p99_ms(ordered),
                max_ms=ordered[-1] / 1000, stalls=sum(1 for us in ordered if us > DISK_STALL_MS * 1000))


def machine() -> str:
    """What the run ran on, for the header: the vCPU model and BogoMIPS, the kernel release and
    whether the guest is nested (PVM): ratios and absolute rates move with each of them."""
    model, bogomips = "unknown CPU", ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                name, _, value = line.partition(":")
                name, value = name.strip().lower(), value.strip()
                if name == "model name" and model == "unknown CPU":
                    model = value
                elif name == "bogomips" and not bogomips:
                    bogomips = value.split(".")[0]
    except OSError:
        pass
    try:
        nested = "nested_pvm=1" in Path("/proc/cmdline").read_text().split()
    except OSError:
        nested = False
    return (f"{model}" + (f" (BogoMIPS {bogomips})" if bogomips else "") + f", kernel {os.uname().release}"
            + (", nested_pvm=1" if nested else ""))


def cpu_times() -> List[int]:
    """The machine's CPU time so far by kind (/proc/stat's "cpu" line, in ticks: user, nice,
    system, idle, iowait, irq, softirq, steal, ...); empty where there is no /proc/stat."""
    try:
        with open("/proc/stat") as stat:
            return [int(x) for x in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return []


STEAL = 7  # /proc/stat's "cpu" field: time the hypervisor ran something else on our vCPUs


def stolen_percent(before: List[int], after: List[int]) -> Optional[float]:
    """The share of the CPU time between two cpu_times() readings that the host took away
    (steal): on a shared VM, the one figure that says a section ran on a busy host."""
    if len(before) <= STEAL or len(after) <= STEAL:
        return None
    # The fields up to steal; guest and guest_nice, after it, are already counted in user and nice.
    spent = [b - a for a, b in zip(before[:STEAL + 1], after[:STEAL + 1])]
    return 100.0 * spent[STEAL] / sum(spent) if sum(spent) > 0 else None


def disk_sync_probe(directory: Path, seconds: float = 3.0, rate: int = 2000, label: str = "") -> dict:
    """What the data disk gives a txn log with no server running: a 600-byte append, fdatasync'ed,
    `rate` times a second for `seconds`, in `directory` (the dataDirs' disk). Every write a server
    acknowledges waits for such a sync, so a p99 row cannot read below this disk's stalls; the
    header prints these figures so a row's tail can be read against the disk's own."""
    path = directory / "disk-probe.dat"
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    latencies: List[int] = []
    try:
        os.ftruncate(fd, 64 << 20)
        record, offset = b"p" * 600, 0
        start = time.monotonic()
        due = start
        while time.monotonic() - start < seconds:
            began = time.perf_counter()
            os.pwrite(fd, record, offset)
            os.fdatasync(fd)
            latencies.append(round((time.perf_counter() - began) * 1e6))
            offset += len(record)
            due += 1 / rate
            time.sleep(max(0.0, due - time.monotonic()))
    finally:
        os.close(fd)
        path.unlink(missing_ok=True)
    summary = sync_summary(latencies)
    log(f"disk fdatasync{' ' + label if label else ''} ({summary['syncs']} in {seconds:.0f} s): p50 {summary['p50_ms']:.2f} ms, "
        f"p99 {summary['p99_ms']:.2f} ms, max {summary['max_ms']:.1f} ms, {summary['stalls']} over {DISK_STALL_MS} ms")
    return summary


# What ferrokeeper writes a snapshot at while serving (wal's RATE_BYTES_PER_SEC and CHUNK_BYTES:
# its first chunk size; it grows them up to 1 MiB on a disk that makes them durable fast, which
# this probe, about where the host's stalls fall, leaves out).
SNAPSHOT_RATE = 75_000_000
SNAPSHOT_CHUNK = 64 << 10


def _snapshot_like_writer(path: Path, fresh: bool, stop: threading.Event) -> None:
    """Writes `path` as ferrokeeper writes a snapshot while serving: SNAPSHOT_CHUNK direct,
    durable writes at SNAPSHOT_RATE. `fresh`: into a new file (blocks the file system has to
    allocate); otherwise over the file as it is, from its start (blocks already allocated)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_DSYNC | (os.O_TRUNC if fresh else 0)
    try:
        fd = os.open(path, flags | os.O_DIRECT, 0o644)
    except OSError:  # no O_DIRECT here (tmpfs before Linux 6.6): durable buffered writes
        fd = os.open(path, flags, 0o644)
    chunk = mmap.mmap(-1, SNAPSHOT_CHUNK)  # page-aligned, as O_DIRECT wants
    chunk.write(b"s" * SNAPSHOT_CHUNK)
    size = os.fstat(fd).st_size
    try:
        offset, due = 0, time.monotonic()
        while not stop.is_set():
            try:
                os.pwritev(fd, [chunk], offset)
            except OSError as error:  # O_DIRECT opened but refused on write (a larger block size)
                if error.errno != errno.EINVAL:
                    raise
                os.close(fd)
                fd = os.open(path, os.O_WRONLY | os.O_DSYNC, 0o644)
                os.pwritev(fd, [chunk], offset)
            offset += SNAPSHOT_CHUNK
            if not fresh and offset >= size:
                offset = 0
            due += SNAPSHOT_CHUNK / SNAPSHOT_RATE
            time.sleep(max(0.0, due - time.monotonic()))
    finally:
        os.close(fd)
        chunk.close()


def disk_allocation_probe(directory: Path, seconds: float) -> dict:
    """The disk probe's log syncs beside a snapshot-like writer, twice: writing fresh blocks, then
    rewriting the same blocks in place. On a thin-provisioned virtual disk (a sparse image file on
    the host, and a guest file system that discards what it frees) every fresh block is a host-side
    allocation, and the log's syncs stall behind them however the snapshot is written (see
    docs/PERFORMANCE.md, "A snapshot and the host's block allocation"); the two figures side by
    side tell whether this machine's disk is such a disk, which the snapshot row then measures."""
    path = directory / "disk-probe-writer.dat"
    result = {}
    try:
        for name, fresh in (("fresh blocks", True), ("same blocks", False)):
            stop = threading.Event()
            writer = threading.Thread(target=_snapshot_like_writer, args=(path, fresh, stop), daemon=True)
            writer.start()
            try:
                result[name] = disk_sync_probe(directory, seconds, label=f"beside a snapshot-like writer, {name}")
            finally:
                stop.set()
                writer.join()
    finally:
        path.unlink(missing_ok=True)
    return result


def max_fsync_ms(server: "Server") -> int:
    """The longest txn-log fsync since the last `srst` (mntr's zk_max_fsynctime, both servers)."""
    mntr = dict(line.split("\t", 1) for line in four_letter(server.port, "mntr").splitlines() if "\t" in line)
    return int(mntr.get("zk_max_fsynctime", "0"))


def p99_setdata(server: "Server", kind: str, rate: int, d: float, nodes: int, setup: bool,
                latency_log: Optional[Path] = None) -> Tuple[float, int]:
    """p99 (ms) of an open-loop setData load at `rate`/s for `d` s, and the server's longest
    txn-log fsync (ms) during it (mntr after an `srst`), after a discarded run: the first
    seconds after a start (Java's JIT, first touches of a freshly loaded tree) are slower than any
    snapshot. The load and the startup snapshot leave GBs of dirty pages, whose writeback would
    otherwise land in the measured run (not the only stall seen here: see docs/PERFORMANCE-HISTORY.md,
    "A second full run")."""
    common = dict(op="setdata", value_size=100, sessions=16, inflight=64, rate=rate, nodes=nodes)
    # loadgen() passes a flag only when its value is True: no_setup is left out to set up.
    warm = common if setup else dict(common, no_setup=True)
    loadgen([server], kind, d + 120, duration=max(1, d // 3), warmup=0, **warm)
    os.sync()
    four_letter(server.port, "srst")
    measured = dict(common, no_setup=True, **({"latency_log": latency_log} if latency_log else {}))
    run = loadgen([server], kind, d + 120, duration=d, warmup=1, **measured)
    return run["p99_us"] / 1000, max_fsync_ms(server)


def big_tree_section(table: Table, workdir: Path, plan: dict) -> None:
    """One server at a time: N znodes, RSS, recovery, snapshot size, p99 during snapshots."""
    n = plan["big_nodes"]
    values: Dict[str, Dict[str, float]] = {k: {} for k in KINDS}
    for kind in KINDS:
        server = Server(kind, workdir / "big").fresh()
        try:
            server.start()
            started = time.monotonic()
            loadgen([server], kind, 1800, op="create", value_size=100, sessions=32, inflight=32,
                    duration=1200, warmup=0, max_ops=n, nodes=1, children=0)
            values[kind]["load_s"] = time.monotonic() - started
            time.sleep(2)
            values[kind]["rss"] = server.rss_kib() / 1024
            server.stop()
            # Recovery: start to serving, from whatever snapshots and logs the run left.
            server.cfg["snapCount"] = "100000000"
            before = len(server.snapshots())
            values[kind]["recovery"] = server.start()
            server.wait_startup_snapshot(before)
            snaps = server.snapshots()
            values[kind]["snapshot_mib"] = snaps[-1].stat().st_size / 2**20 if snaps else 0.0
            values[kind]["rss_recovered"] = server.rss_kib() / 1024
            # p99 of an open-loop setData load without snapshots, then with snapshots taken during
            # it (snapCount so that several happen), in alternating pairs. One run's p99 at this
            # load swings several-fold between runs on a shared machine, more than snapshots move
            # it: the target compares, within the runs with snapshots, the requests in flight
            # while a snapshot was being written with the others (pooled over the pairs).
            rate, d = plan["snap_rate"], plan["snap_duration"]
            base_p99, snap_p99, snaps_during, during, outside = [], [], [], [], []
            base_fsync, snap_fsync = [], []
            latency_log = workdir / f"{kind}-latencies.txt"
            for pair in range(plan["snap_pairs"]):
                if pair:
                    server.stop()
                    server.cfg["snapCount"] = "100000000"
                    before = len(server.snapshots())
                    server.start()
                    server.wait_startup_snapshot(before)
                p99, fsync_ms = p99_setdata(server, kind, rate, d, plan["nodes"], setup=pair == 0)
                base_p99.append(p99)
                base_fsync.append(fsync_ms)
                server.stop()
                server.cfg["snapCount"] = str(max(2, int(rate * d / 3)))
                before = len(server.snapshots())
                server.start()
                server.wait_startup_snapshot(before)
                after_start = len(server.snapshots())
                with SnapshotWindows(server.data) as windows:
                    p99, fsync_ms = p99_setdata(server, kind, rate, d, plan["nodes"], setup=False,
                                                latency_log=latency_log)
                snap_p99.append(p99)
                snap_fsync.append(fsync_ms)
                snaps_during.append(len(server.snapshots()) - after_start)
                run_during, run_outside = windows.split(latency_log)
                during += run_during
                outside += run_outside
                log(f"{kind}: pair {pair + 1}: p99 without snapshots {base_p99[-1]:.2f} ms (longest log "
                    f"fsync {base_fsync[-1]} ms), with {snap_p99[-1]:.2f} ms (longest log fsync "
                    f"{snap_fsync[-1]} ms; while writing one {p99_ms(run_during):.2f} ms over "
                    f"{len(run_during)} requests, {sum(e - s for s, e in windows.windows):.1f} s in "
                    f"{len(windows.windows)} windows; the others {p99_ms(run_outside):.2f} ms over "
                    f"{len(run_outside)}); snapshots before {before}, after start {after_start}, "
                    f"during run {snaps_during[-1]}")
            values[kind]["fsync_base"] = max(base_fsync)
            values[kind]["fsync_snap"] = max(snap_fsync)
            values[kind]["p99_base"] = statistics.median(base_p99)
            values[kind]["p99_snap"] = statistics.median(snap_p99)
            values[kind]["snapshots_during"] = sum(snaps_during)
            values[kind]["p99_during"] = p99_ms(during)
            values[kind]["p99_outside"] = p99_ms(outside)
            values[kind]["n_during"] = len(during)
        finally:
            server.discard()
    j, f = values["java"], values["ferrokeeper"]
    table.add("standalone", f"load {n:,} creates of 100 B (32x32)", j["load_s"], f["load_s"], "s", "", "lower")
    table.add("standalone", f"RSS with {n:,} znodes of 100 B", j["rss"], f["rss"], "MiB", "<= 0.25x", "lower",
              met_if=lambda r: r <= 0.25)
    table.add("standalone", f"RSS after recovering {n:,} znodes", j["rss_recovered"], f["rss_recovered"], "MiB",
              "<= 0.25x", "lower", met_if=lambda r: r <= 0.25)
    table.add("standalone", f"recovery of {n:,} znodes (start to serving)", j["recovery"], f["recovery"], "s",
              "<= 0.2x", "lower", met_if=lambda r: r <= 0.2)
    table.add("standalone", "newest snapshot size", j["snapshot_mib"], f["snapshot_mib"], "MiB", "", "lower")
    rate, pairs = plan["snap_rate"], plan["snap_pairs"]
    runs = f"{pairs} run" + ("s" if pairs != 1 else "")
    fsyncs = lambda key: f"longest log fsync: java {j[key]} ms, fk {f[key]} ms"  # noqa: E731
    table.add("standalone", f"setData p99 at {rate}/s, {n:,} znodes, no snapshot (median of {runs}; "
              f"{fsyncs('fsync_base')})",
              j["p99_base"], f["p99_base"], "ms", "", "lower")
    table.add("standalone", f"setData p99 at {rate}/s, {n:,} znodes, snapshots written (median of {runs}; "
              f"snapshots in all: java {j['snapshots_during']}, fk {f['snapshots_during']}; "
              f"{fsyncs('fsync_snap')})", j["p99_snap"],
              f["p99_snap"], "ms", "", "lower")
    table.add("standalone", "p99 of the runs with snapshots / without (medians, each server)",
              j["p99_snap"] / j["p99_base"], f["p99_snap"] / f["p99_base"], "x", "", "lower")
    table.add("standalone", f"same runs: setData p99 in flight while a snapshot is written (requests: "
              f"java {j['n_during']:,}, fk {f['n_during']:,})", j["p99_during"], f["p99_during"], "ms", "", "lower")
    table.add("standalone", "same runs: setData p99 of the other requests", j["p99_outside"], f["p99_outside"],
              "ms", "", "lower")
    table.add("standalone", "p99 with snapshot / p99 without (each server)", j["p99_during"] / j["p99_outside"],
              f["p99_during"] / f["p99_outside"], "x", "fk <= 1.2", "lower")
    table.rows[-1]["met"] = "yes" if f["p99_during"] / f["p99_outside"] <= 1.2 else "NO"


def form_ensemble(kind: str, workdir: Path, timeout: float) -> List[Server]:
    members = [Server(kind, workdir / "ensemble", m, 3).fresh() for m in (1, 2, 3)]
    starts = [m.launch() for m in members]
    for member, started in zip(members, starts):
        member.wait_serving(started, timeout)
    return members


def election_time(members: List[Server], timeout: float = 60.0) -> float:
    leader = next(m for m in members if mode_of(m.port) == "leader")
    others = [m for m in members if m is not leader]
    killed = time.monotonic()
    leader.stop(signal.SIGKILL)
    while time.monotonic() - killed < timeout:
        modes = sorted(mode_of(m.port) or "" for m in others)
        if modes == ["follower", "leader"]:
            return time.monotonic() - killed
        time.sleep(0.005)
    raise TimeoutError("no new leader")


def ensemble_section(table: Table, workdir: Path, plan: dict) -> None:
    ensembles: Dict[str, List[Server]] = {}
    try:
        try:
            ensembles["ferrokeeper"] = form_ensemble("ferrokeeper", workdir, 30)
        except (RuntimeError, TimeoutError) as error:
            log(f"ferrokeeper ensemble did not form: {error}")
            table.add("ensemble", "all ensemble rows", "pending", "pending", "",
                      "ferrokeeper quorum mode not available")
            return
        ensembles["java"] = form_ensemble("java", workdir, 60)
        time.sleep(2)
        table.add("ensemble", "RSS idle, largest member", max(m.rss_kib() for m in ensembles["java"]) / 1024,
                  max(m.rss_kib() for m in ensembles["ferrokeeper"]) / 1024, "MiB", "<= 0.1x", "lower",
                  met_if=lambda r: r <= 0.1)
        throughput_rows(table, "ensemble", ensembles, plan, ensemble=True)
        times = {kind: [] for kind in KINDS}
        for attempt in range(plan["elections"]):
            for kind in KINDS:
                if attempt:
                    for m in ensembles[kind]:
                        m.stop()
                    ensembles[kind] = form_ensemble(kind, workdir, 60)
                times[kind].append(election_time(ensembles[kind]))
        median = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
        table.add("ensemble", f"election after kill -9 of the leader (median of {plan['elections']})",
                  median["java"], median["ferrokeeper"], "s", "fk <= 1 s", "lower")
        table.rows[-1]["met"] = "yes" if median["ferrokeeper"] <= 1.0 else "NO"
    finally:
        for members in ensembles.values():
            for m in members:
                m.discard()


PLANS = {
    "smoke": dict(sessions=2, inflight=2, duration=0.3, warmup=0.1, warmup_run=0.2, nodes=20,
                  rows=[("setdata", 100, "", None), ("getdata", 100, "", None)],
                  big_nodes=300, snap_rate=200, snap_duration=0.5, snap_pairs=1, elections=1),
    "quick": dict(sessions=32, inflight=8, duration=2, warmup=1, warmup_run=3, nodes=1000,
                  rows=[("setdata", 100, "", None), ("create", 100, "", None), ("getdata", 100, "", None),
                        ("mixed", 100, "", None)],
                  big_nodes=100_000, snap_rate=2000, snap_duration=3, snap_pairs=1, elections=1),
    "full": dict(sessions=32, inflight=8, duration=8, warmup=2, warmup_run=10, nodes=1000,
                 rows=[("setdata", 100, "", None), ("setdata", 10, "", None), ("setdata", 4096, "", None),
                       ("create", 100, "", None), ("multi", 100, "", None), ("getdata", 100, "", None),
                       ("getdata", 4096, "", None), ("exists", 100, "", None), ("getchildren", 100, "", None),
                       ("mixed", 100, "", None)],
                 big_nodes=1_000_000, snap_rate=2000, snap_duration=15, snap_pairs=3, elections=3),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes, under 3 minutes")
    size.add_argument("--smoke", action="store_true", help="a few hundred ops: the table's shape only")
    parser.add_argument("--workdir", default="/tmp/fk-compare", help="dataDirs and logs (same disk for both)")
    parser.add_argument("--only", choices=["standalone", "big", "ensemble"], action="append",
                        help="run only these sections (repeatable)")
    parser.add_argument("--no-build", action="store_true", help="do not run cargo build --release first")
    parser.add_argument("--repeat", type=int, default=1,
                        help="closed-loop rows: run each kind this many times, alternating, and keep its best")
    parser.add_argument("--base-port", type=int, default=BASE_PORT["java"],
                        help="Java's ports start here, ferrokeeper's 1000 higher (default %(default)s)")
    args = parser.parse_args()
    plan_name = "smoke" if args.smoke else "quick" if args.quick else "full"
    plan = dict(PLANS[plan_name], repeat=max(1, args.repeat))
    BASE_PORT.update(java=args.base_port, ferrokeeper=args.base_port + 1000)
    sections = args.only or ["standalone", "big", "ensemble"]
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "ferrokeeper", "-p", "loadgen"], cwd=ROOT, check=True)
    for path in (LOADGEN, FERROKEEPER):
        if not path.exists():
            print(f"missing {path}: cargo build --release", file=sys.stderr)
            return 2
    if not shutil.which("java") or not Path(JAVA_CP[0]).exists():
        print("Apache ZooKeeper 3.8 is missing: apt-get install zookeeper", file=sys.stderr)
        return 2
    workdir = Path(args.workdir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    began = time.monotonic()
    load_before = os.getloadavg()
    table = Table()
    probe_s = 0.5 if plan_name == "smoke" else 3.0
    disk: Dict[str, dict] = {}
    beside: Dict[str, dict] = {}
    stolen: Dict[str, Optional[float]] = {}
    runners = {"standalone": standalone_section, "big": big_tree_section, "ensemble": ensemble_section}
    for section in ("standalone", "big", "ensemble"):
        if section in sections:
            disk[f"before {section}"] = disk_sync_probe(workdir, probe_s)
            if section == "big":
                beside = disk_allocation_probe(workdir, 3 * probe_s)
            times = cpu_times()
            runners[section](table, workdir, plan)
            stolen[section] = stolen_percent(times, cpu_times())
    disk["after"] = disk_sync_probe(workdir, probe_s)
    load_after = os.getloadavg()
    repeat = f", closed-loop rows best of {plan['repeat']}" if plan["repeat"] > 1 else ""
    ran_on = machine()
    header = (f"ferrokeeper / Apache ZooKeeper 3.8, plan '{plan_name}'{repeat}, {os.cpu_count()} cores, "
              f"load average {load_before[0]:.2f} before / {load_after[0]:.2f} after, "
              f"{time.monotonic() - began:.0f} s, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
              f"{ran_on}; "
              f"disk fdatasync alone, p99 / max / syncs over {DISK_STALL_MS} ms: "
              + ", ".join(f"{when} {d['p99_ms']:.2f} / {d['max_ms']:.0f} ms / {d['stalls']}" for when, d in disk.items()))
    if beside:
        header += (f"; beside a snapshot-like writer ({SNAPSHOT_RATE // 1_000_000} MB/s): "
                   + ", ".join(f"{name} {d['p99_ms']:.2f} / {d['max_ms']:.0f} ms / {d['stalls']}"
                               for name, d in beside.items()))
    if any(share is not None for share in stolen.values()):
        header += "; CPU time stolen by the host: " + ", ".join(
            f"{section} {share:.1f}%" for section, share in stolen.items() if share is not None)
    print(table.print(header))
    results = dict(header=header, machine=ran_on, rows=table.rows, disk=disk, disk_beside_writer=beside, cpu_stolen_percent=stolen)
    (workdir / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
