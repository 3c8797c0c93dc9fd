"""benches/compare.py keeps working: its smoke plan runs both servers (standalone, the big-tree
section at 300 znodes, a 3-node ensemble of each with an election) and every row of the table it
writes carries a measurement. The figures themselves are not judged here (speed goals live in
docs/PERFORMANCE.md, measured by the full plan); this catches the benchmark rotting: a crash, a
server that no longer starts the way it is driven, a row that comes out empty."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys

import pytest

import zkharness as h

COMPARE = h.REPO_ROOT / "benches" / "compare.py"
LOADGEN = h.REPO_ROOT / "target" / "release" / "loadgen"

# The table's rows in the smoke plan, by the start of their metric name.
EXPECTED_ROWS = [
    ("standalone", "RSS idle"),
    ("standalone", "setdata 100 B (2x2) ops/s"),
    ("standalone", "getdata 100 B (2x2) ops/s"),
    ("standalone", "setdata p99 at"),
    ("standalone", "getdata p99 at"),
    ("standalone", "load 300 creates"),
    ("standalone", "RSS with 300 znodes"),
    ("standalone", "RSS after recovering 300 znodes"),
    ("standalone", "recovery of 300 znodes"),
    ("standalone", "newest snapshot size"),
    ("standalone", "p99 with snapshot / p99 without"),
    ("ensemble", "RSS idle, largest member"),
    ("ensemble", "setdata 100 B (2x2) ops/s"),
    ("ensemble", "getdata 100 B (2x2) ops/s"),
    ("ensemble", "election after kill -9 of the leader"),
]


@pytest.fixture(scope="module")
def smoke_results(tmp_path_factory):
    if set(h.enabled_kinds()) != set(h.KINDS):
        pytest.skip("compare.py drives both servers (FK_TEST_SERVERS=ferrokeeper,java)")
    if not LOADGEN.exists():
        pytest.skip(f"{LOADGEN} missing: cargo build --release")
    workdir = tmp_path_factory.mktemp("compare")
    # Below the ephemeral range, away from the fixed default a concurrent full run would use.
    base = random.randrange(10_000, 20_000, 100)
    run = subprocess.run(
        [sys.executable, str(COMPARE), "--smoke", "--no-build", "--repeat", "2", "--base-port", str(base),
         "--workdir", str(workdir)],
        capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"compare.py failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    results = json.loads((workdir / "results.json").read_text())
    return results, run.stdout, workdir


def test_every_row_is_measured_for_both_servers(smoke_results):
    results, _, _ = smoke_results
    rows = results["rows"]
    for section, prefix in EXPECTED_ROWS:
        matching = [r for r in rows if r["section"] == section and r["metric"].startswith(prefix)]
        assert matching, f"no row {section} | {prefix}...; rows: {[r['metric'] for r in rows]}"
    for row in rows:
        for kind in ("java", "ferrokeeper"):
            value = row[kind]
            assert isinstance(value, (int, float)) and value > 0, f"{row['metric']}: {kind} = {value!r}"
        assert row["ratio"] == pytest.approx(row["ferrokeeper"] / row["java"]), row


def test_the_table_names_its_conditions(smoke_results):
    results, stdout, _ = smoke_results
    assert "plan 'smoke'" in results["header"] and "best of 2" in results["header"]
    # The machine it ran on: ratios and absolute rates move with the CPU, the kernel and nesting.
    assert f", kernel {os.uname().release}" in results["machine"], results["machine"]
    assert results["machine"] in results["header"]
    # The disk probe ran before each section and at the end, and its figures are in the header.
    assert list(results["disk"]) == ["before standalone", "before big", "before ensemble", "after"]
    for when, probe in results["disk"].items():
        assert probe["syncs"] > 0 and 0 < probe["p50_ms"] <= probe["p99_ms"] <= probe["max_ms"], (when, probe)
        assert f"{when} {probe['p99_ms']:.2f} / " in results["header"]
    # Before the big tree, the probe ran beside a snapshot-like writer, on fresh blocks and in place.
    beside = results["disk_beside_writer"]
    assert list(beside) == ["fresh blocks", "same blocks"], beside
    for name, probe in beside.items():
        assert probe["syncs"] > 0 and 0 < probe["p50_ms"] <= probe["p99_ms"] <= probe["max_ms"], (name, probe)
        assert f"{name} {probe['p99_ms']:.2f} / " in results["header"]
    # The share of CPU time the host took away (steal) during each section, from /proc/stat.
    stolen = results["cpu_stolen_percent"]
    assert list(stolen) == ["standalone", "big", "ensemble"], stolen
    for section, share in stolen.items():
        assert 0 <= share <= 100, (section, share)
        assert f"{section} {share:.1f}%" in results["header"]
    # Both p99 rows of the big tree name each server's longest log fsync in their runs (mntr).
    p99_rows = [r["metric"] for r in results["rows"] if r["metric"].startswith("setData p99 at ")]
    assert len(p99_rows) == 2 and all(re.search(r"longest log fsync: java \d+ ms, fk \d+ ms\)$", m)
                                      for m in p99_rows), p99_rows
    # The printed table is the markdown docs/PERFORMANCE.md carries: one line per row.
    table_lines = [line for line in stdout.splitlines() if line.startswith("| ")]
    assert len(table_lines) == len(results["rows"]) + 1, stdout[-2000:]


def test_a_run_leaves_server_logs_but_no_data_directories(smoke_results):
    _, _, workdir = smoke_results
    assert list(workdir.rglob("version-2")) == [] and list(workdir.rglob("myid")) == []
    assert len(list(workdir.rglob("server.log"))) >= 2 * 3, sorted(workdir.rglob("*"))


def _compare_module():
    sys.path.insert(0, str(COMPARE.parent))
    try:
        import compare
    finally:
        sys.path.pop(0)
    return compare


def test_requests_are_split_by_whether_a_snapshot_window_overlaps_them(tmp_path):
    compare = _compare_module()
    windows = compare.SnapshotWindows(tmp_path)
    windows.windows = [(1.0, 2.0), (5.0, 6.0)]
    log = tmp_path / "latencies.txt"
    requests = {  # (sent s, latency s): in flight during a window?
        (0.5, 0.6): True,    # runs into the first window
        (1.5, 0.1): True,    # inside it
        (2.5, 1.0): False,   # between the two
        (4.9, 0.05): False,  # done just before the second
        (5.9, 2.0): True,    # sent before the second one ends
        (6.5, 0.1): False,   # after both
        (0.1, 10.0): True,   # spans both
    }
    log.write_text("".join(f"{round(s * 1e6)} {round(l * 1e6)}\n" for s, l in requests))
    during, outside = windows.split(log)
    assert sorted(during) == sorted(round(l * 1e6) for (s, l), d in requests.items() if d)
    assert sorted(outside) == sorted(round(l * 1e6) for (s, l), d in requests.items() if not d)


def test_the_disk_summary_counts_syncs_over_the_stall_limit():
    compare = _compare_module()
    latencies = [150] * 196 + [19_000, 20_000, 20_001, 170_000]  # µs
    summary = compare.sync_summary(latencies)
    assert summary["syncs"] == 200 and summary["stalls"] == 2  # over 20 ms, not at it
    assert summary["p50_ms"] == 0.15 and summary["max_ms"] == 170.0
    assert summary["p99_ms"] == 20.0  # the 198th of 200
    assert compare.sync_summary([])["syncs"] == 0


def test_stolen_time_is_the_steal_share_of_the_cpu_time_between_two_readings():
    compare = _compare_module()
    # user nice system idle iowait irq softirq steal guest guest_nice (ticks)
    before = [100, 0, 50, 800, 10, 0, 0, 40, 30, 0]
    after = [200, 0, 100, 1500, 20, 0, 0, 140, 90, 0]
    # 960 ticks spent, 100 of them stolen; guest time is already in user and not counted twice.
    assert compare.stolen_percent(before, after) == 100 * 100 / 960
    assert compare.stolen_percent(before, before) is None
    assert compare.stolen_percent([], after) is None
    now = compare.cpu_times()
    assert len(now) > compare.STEAL and all(x >= 0 for x in now)


def test_p99_is_the_nearest_rank():
    compare = _compare_module()
    assert compare.p99_ms(list(range(1000, 101_000, 1000))) == 99.0   # 1..100 ms: the 99th
    assert compare.p99_ms([5000]) == 5.0
    assert compare.p99_ms(list(range(1000, 201_000, 1000))) == 198.0  # 200 values: the 198th


def test_the_snapshot_like_writer_rewrites_in_place_what_it_wrote_fresh(tmp_path):
    compare = _compare_module()
    path = tmp_path / "writer.dat"

    def write(fresh: bool, seconds: float) -> None:
        stop = compare.threading.Event()
        writer = compare.threading.Thread(target=compare._snapshot_like_writer, args=(path, fresh, stop))
        writer.start()
        compare.time.sleep(seconds)
        stop.set()
        writer.join()

    write(True, 0.3)
    fresh_size = path.stat().st_size
    # At 75 MB/s, 0.3 s is ~340 chunks: well over a few, well under unthrottled.
    assert 8 * compare.SNAPSHOT_CHUNK <= fresh_size <= 2 * compare.SNAPSHOT_RATE * 0.3, fresh_size
    assert fresh_size % compare.SNAPSHOT_CHUNK == 0
    write(False, 0.6)  # twice as long: it wraps to the start instead of growing the file
    assert path.stat().st_size == fresh_size


def test_the_snapshot_like_writer_writes_as_the_server_does():
    compare = _compare_module()
    source = (h.REPO_ROOT / "crates" / "wal" / "src" / "background.rs").read_text()
    rate = re.search(r"pub const RATE_BYTES_PER_SEC: u64 = ([0-9_]+);", source)
    chunk = re.search(r"pub const CHUNK_BYTES: usize = (\d+) << 10;", source)
    assert rate and chunk, "wal's snapshot rate or chunk size is no longer where this test reads it"
    assert compare.SNAPSHOT_RATE == int(rate.group(1).replace("_", ""))
    assert compare.SNAPSHOT_CHUNK == int(chunk.group(1)) << 10


def test_a_failed_measured_run_is_run_once_more_and_a_second_failure_stops(monkeypatch):
    compare = _compare_module()
    calls = []

    def flaky(servers, kind, timeout, **args):
        calls.append(args["op"])
        if calls.count(args["op"]) <= failures:
            raise RuntimeError("loadgen failed (1): no reply for 30 s")
        return {"ops_per_sec": 1.0, "op": args["op"]}

    monkeypatch.setattr(compare, "loadgen", flaky)
    monkeypatch.setattr(compare, "log", lambda message: calls.append(message))
    failures = 1
    assert compare.measured_run([], "java", 1.0, op="setdata") == {"ops_per_sec": 1.0, "op": "setdata"}
    assert calls[0] == "setdata" and "WARNING: java setdata: a run failed" in calls[1] and calls[2] == "setdata"
    calls.clear()
    failures = 2
    with pytest.raises(RuntimeError):
        compare.measured_run([], "java", 1.0, op="setdata")
    assert len([c for c in calls if c == "setdata"]) == 2


PROFILE = h.REPO_ROOT / "benches" / "profile.py"


def test_the_profile_script_measures_each_row_on_a_fresh_ensemble(tmp_path):
    """benches/profile.py (the per-op CPU figures of docs/PERFORMANCE.md) keeps working: two short
    rows on a fresh ferrokeeper ensemble, each with a rate, a CPU split of the machine and the CPU
    each member spent per op; its members are gone and its dataDirs removed afterwards."""
    if "ferrokeeper" not in h.enabled_kinds():
        pytest.skip("profile.py is run against ferrokeeper here")
    if not LOADGEN.exists():
        pytest.skip(f"{LOADGEN} missing: cargo build --release")
    base = random.randrange(10_000, 20_000, 100)
    root = tmp_path / "profile"
    run = subprocess.run(
        [sys.executable, str(PROFILE), "--rows", "setdata:100,multi:10", "--duration", "1", "--sessions", "4",
         "--inflight", "2", "--nodes", "50", "--base-port", str(base), "--datadir-root", str(root), "--json"],
        capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, f"profile.py failed ({run.returncode}):\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    rows = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert run.stdout.startswith("machine: ") and f"kernel {os.uname().release}" in run.stdout.splitlines()[0]
    assert [(r["op"], r["value_size"]) for r in rows] == [("setdata", 100), ("multi", 10)], run.stdout
    for row in rows:
        assert row["kind"] == "ferrokeeper" and row["ops_per_sec"] > 0 and row["p99_ms"] > 0, row
        assert row["leader"] in (1, 2, 3), row
        per_op = row["member_cpu_us_per_op"]
        assert len(per_op) == 3 and all(us >= 0 for us in per_op) and sum(per_op) > 0, row
        shares = row["cpu"]
        assert set(shares) == {"user", "system", "idle", "iowait", "steal"}, shares
        assert 95 <= sum(shares.values()) <= 100.5 and all(v >= 0 for v in shares.values()), shares
        text = f"ferrokeeper {row['op']} {row['value_size']} B: {row['ops_per_sec']:,.0f} ops/s"
        assert text in run.stdout, (text, run.stdout)
    assert list(root.rglob("version-2")) == [], sorted(root.rglob("*"))
