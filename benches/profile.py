#!/usr/bin/env python3
"""Where an ensemble write's time goes: one server kind, a fresh 3-member loopback ensemble,
closed-loop loadgen rows, and for each row what the machine did meanwhile.

    python3 benches/profile.py                                   # ferrokeeper, setdata 100 B
    python3 benches/profile.py --kind java --rows setdata:4096,multi:100
    python3 benches/profile.py --syscalls                        # + syscalls per op (perf stat)
    python3 benches/profile.py --perf-record /tmp/prof           # + perf record -a -g per row
    python3 benches/profile.py --datadir-root /dev/shm/fk        # dataDirs elsewhere (tmpfs: no disk)

Each row prints ops/s and p99 (loadgen), the machine's CPU split over the row (/proc/stat: user,
system, idle, iowait, steal) and each member's CPU time per op (/proc/<pid>/stat, user + system;
the leader marked). Members are formed and configured as in benches/compare.py (forceSync=yes,
snapCount 100000); the tree is seeded with --nodes znodes and a short mixed warm-up first. This
is a measuring tool, not a comparison: ratios against Java come from compare.py, whose rows
alternate the two servers within seconds. Every run is bounded (--duration per row, a timeout on
each loadgen), every process started is killed at exit, and only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the Server class, form_ensemble, loadgen, cleanup at exit)

TICKS = os.sysconf("SC_CLK_TCK")
# /proc/stat's cpu line: user nice system idle iowait irq softirq steal ...
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
SYSCALLS = ("sendto", "recvfrom", "write", "pwrite64", "writev", "fdatasync", "epoll_wait", "futex")


def machine_ticks() -> Dict[str, int]:
    return dict(zip(STAT_FIELDS, compare.cpu_times()))


def process_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as stat:
        # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_split(before: Dict[str, int], after: Dict[str, int]) -> Dict[str, float]:
    delta = {k: after[k] - before[k] for k in STAT_FIELDS}
    total = sum(delta.values()) or 1
    share = lambda *keys: round(100.0 * sum(delta[k] for k in keys) / total, 1)
    return dict(user=share("user", "nice"), system=share("system", "irq", "softirq"), idle=share("idle"),
                iowait=share("iowait"), steal=share("steal"))


def start_perf(args, row: str, seconds: float) -> Optional[subprocess.Popen]:
    if args.syscalls:
        events = ",".join(f"syscalls:sys_enter_{name}" for name in SYSCALLS)
        return subprocess.Popen(["perf", "stat", "-a", "-x", ",", "-e", events, "--", "sleep", f"{seconds:.2f}"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if args.perf_record:
        out = Path(args.perf_record) / f"{args.kind}-{row.replace(':', '-')}.data"
        return subprocess.Popen(["perf", "record", "-a", "-g", "-F", "1999", "-o", str(out), "--", "sleep",
                                 f"{seconds:.2f}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return None


def syscall_counts(perf: subprocess.Popen) -> Dict[str, int]:
    _, err = perf.communicate(timeout=60)
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("syscalls:sys_enter_") and fields[0].isdigit():
            counts[fields[2][len("syscalls:sys_enter_"):]] = int(fields[0])
    return counts


def profile_row(args, members: List[compare.Server], op: str, size: int) -> dict:
    leader = next((m for m in members if compare.mode_of(m.port) == "leader"), None)
    machine_before = machine_ticks()
    member_before = [process_ticks(m.proc.pid) for m in members]
    # perf counts from the row's start for its duration less half a second: inside the row (which
    # runs a quarter second of warm-up first) at the row's rate, so per op divides by that rate.
    perf = start_perf(args, f"{op}:{size}", max(0.5, args.duration - 0.5))
    result = compare.loadgen(members, args.kind, args.duration + 120, op=op, value_size=size,
                             sessions=args.sessions, inflight=args.inflight, duration=args.duration,
                             warmup=0.25, nodes=args.nodes, no_setup=True)
    counts = {}
    if perf is not None:
        if args.syscalls:
            counts = syscall_counts(perf)
        else:
            perf.wait(timeout=120)
    member_after = [process_ticks(m.proc.pid) for m in members]
    split = cpu_split(machine_before, machine_ticks())
    # CPU counts over the whole loadgen run (warm-up included), so per op divides by its ops/s x time.
    ops = max(1.0, result["ops_per_sec"] * (args.duration + 0.25))
    per_op = [round((after - before) / TICKS * 1e6 / ops, 1) for before, after in zip(member_before, member_after)]
    row = dict(kind=args.kind, op=op, value_size=size, ops_per_sec=result["ops_per_sec"],
               p99_ms=result["p99_us"] / 1000, cpu=split, member_cpu_us_per_op=per_op,
               leader=members.index(leader) + 1 if leader else None)
    if counts:
        perf_ops = max(1.0, result["ops_per_sec"] * max(0.5, args.duration - 0.5))
        row["syscalls_per_op"] = {name: round(count / perf_ops, 3) for name, count in counts.items()}
    return row


def describe(row: dict) -> str:
    cpu = row["cpu"]
    members = " ".join(f"{us}{'*' if i + 1 == row['leader'] else ''}"
                       for i, us in enumerate(row["member_cpu_us_per_op"]))
    text = (f"{row['kind']} {row['op']} {row['value_size']} B: {row['ops_per_sec']:,.0f} ops/s, p99 "
            f"{row['p99_ms']:.2f} ms | user {cpu['user']}% system {cpu['system']}% idle {cpu['idle']}% "
            f"iowait {cpu['iowait']}% steal {cpu['steal']}% | CPU µs/op by member (* leader) {members}, "
            f"sum {sum(row['member_cpu_us_per_op']):.1f}")
    if "syscalls_per_op" in row:
        text += " | syscalls/op (all processes) " + " ".join(
            f"{name} {n}" for name, n in sorted(row["syscalls_per_op"].items()) if n)
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=compare.KINDS, default="ferrokeeper")
    parser.add_argument("--rows", default="setdata:100", help="op:value_size,... (ops as loadgen's --op)")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per row (at most 600)")
    parser.add_argument("--sessions", type=int, default=32)
    parser.add_argument("--inflight", type=int, default=8)
    parser.add_argument("--nodes", type=int, default=1000, help="znodes seeded under /fkbench")
    parser.add_argument("--binary", help="the ferrokeeper binary (default target/release/ferrokeeper)")
    parser.add_argument("--datadir-root", help="where the members' dataDirs go (default: a temporary dir)")
    parser.add_argument("--base-port", type=int, default=21000, help="Java's ports here, ferrokeeper's 1000 up")
    parser.add_argument("--syscalls", action="store_true", help="count syscalls per op with perf stat")
    parser.add_argument("--perf-record", metavar="DIR", help="perf record -a -g each row into DIR")
    parser.add_argument("--json", action="store_true", help="also print each row as a JSON line")
    args = parser.parse_args()
    if not 0 < args.duration <= 600:
        parser.error("--duration must be in (0, 600]")
    rows = []
    for spec in args.rows.split(","):
        op, _, size = spec.partition(":")
        rows.append((op, int(size or 100)))
    if args.binary:
        compare.FERROKEEPER = Path(args.binary).resolve()
    compare.BASE_PORT.update(java=args.base_port, ferrokeeper=args.base_port + 1000)
    if (args.syscalls or args.perf_record) and not shutil.which("perf"):
        parser.error("perf is missing: apt-get install linux-perf")
    if args.perf_record:
        Path(args.perf_record).mkdir(parents=True, exist_ok=True)
    root = Path(args.datadir_root) if args.datadir_root else Path(tempfile.mkdtemp(prefix="fk-profile-"))
    members: List[compare.Server] = []
    print(f"machine: {compare.machine()}", flush=True)
    try:
        members = compare.form_ensemble(args.kind, root, 60)
        compare.loadgen(members, args.kind, 180, op="mixed", sessions=args.sessions, inflight=args.inflight,
                        duration=3, warmup=0.5, nodes=args.nodes)
        for op, size in rows:
            row = profile_row(args, members, op, size)
            print(describe(row), flush=True)
            if args.json:
                print(json.dumps(row), flush=True)
    finally:
        for member in members:
            member.discard()
        shutil.rmtree(root / "ensemble", ignore_errors=True)
        if not args.datadir_root:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
