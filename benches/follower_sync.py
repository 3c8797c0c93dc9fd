#!/usr/bin/env python3
"""How long a follower whose dataDir was wiped takes to serve again, on a 3-member loopback
ensemble holding N znodes of 100 B: the leader sends it the whole database (SNAP), it loads it,
writes it as a snapshot and serves. What a rolling replacement of a member's volume costs.

    python3 benches/follower_sync.py [--nodes 1000000] [--kind ferrokeeper --kind java]

For each kind in turn: form the ensemble (benches/compare.py's settings: forceSync, snapCount
100000, same ports layout), create N znodes with benches/loadgen (32x32), stop a follower,
delete its version-2 directory, start it again and time until `srvr` reports it a follower.
Every process started is stopped at exit; only 127.0.0.1 is used.
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare  # noqa: E402  (the servers, loadgen and ports of the side-by-side benchmark)


def wiped_follower_sync(kind: str, workdir: Path, nodes: int, timeout: float) -> float:
    members = compare.form_ensemble(kind, workdir, 60)
    try:
        started = time.monotonic()
        compare.loadgen(members, kind, 3600, op="create", value_size=100, sessions=32, inflight=32,
                        duration=1800, warmup=0, max_ops=nodes, nodes=1, children=0)
        compare.log(f"{kind}: {nodes:,} creates in {time.monotonic() - started:.1f} s")
        follower = next(m for m in members if compare.mode_of(m.port) == "follower")
        follower.stop()
        shutil.rmtree(follower.data / "version-2")
        started = follower.launch()
        while compare.mode_of(follower.port) != "follower":
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{kind}: the wiped follower did not sync within {timeout:.0f} s")
            time.sleep(0.01)
        return time.monotonic() - started
    finally:
        for member in members:
            member.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=compare.KINDS, action="append", help="repeatable; both by default")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/fk-follower-sync"),
                        help="dataDirs and logs (same disk for both)")
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    results = {}
    for kind in args.kind or ["java", "ferrokeeper"]:
        shutil.rmtree(args.workdir, ignore_errors=True)
        results[kind] = wiped_follower_sync(kind, args.workdir, args.nodes, args.timeout)
        print(f"{kind}: a wiped follower of {args.nodes:,} znodes serves again after {results[kind]:.2f} s",
              flush=True)
    if len(results) == 2:
        print(f"ferrokeeper / java: {results['ferrokeeper'] / results['java']:.2f}")
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
