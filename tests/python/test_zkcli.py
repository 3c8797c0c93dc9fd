"""The real zkCli.sh (Apache ZooKeeper 3.8 Java client) against the server.

(a) the "getting started" sanity test: create /hello world; get -s /hello.
(b) a scripted transcript exercising most zkCli commands and their error paths, compared
    - with the checked-in transcript tests/python/expected/zkcli_script.txt (recorded from
      Java ZooKeeper 3.8.0, normalised), for every enabled server kind, and
    - java vs ferrokeeper directly (differential) when both can run.

Regenerate the expected transcript from Java with
    FK_REGEN_EXPECTED=1 FK_TEST_SERVERS=java pytest tests/python/test_zkcli.py
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import os
import shutil
from pathlib import Path

import pytest

import zkcli
import zkharness as h

EXPECTED = Path(__file__).resolve().parent / "expected" / "zkcli_script.txt"

pytestmark = pytest.mark.skipif(not Path(h.ZKCLI).exists() or shutil.which("java") is None,
                                reason=f"{h.ZKCLI} (Debian package zookeeper) or java missing")

STAT_KEYS = ["cZxid", "ctime", "mZxid", "mtime", "pZxid", "cversion", "dataVersion",
             "aclVersion", "ephemeralOwner", "dataLength", "numChildren"]


def digest(user_password: str) -> str:
    user = user_password.split(":", 1)[0]
    return user + ":" + base64.b64encode(hashlib.sha1(user_password.encode()).digest()).decode()


ALICE = digest("alice:secret")   # alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=

# A str is a one-shot zkCli invocation (exit code = that command's result); a list is one
# session fed on stdin.  One-shot sessions are never closed by zkCli 3.8 (they expire after
# 30 s), so no one-shot command creates an ephemeral node.
SCRIPT = [
    "create /app data1",
    "create /app dup",                                  # NodeExists
    "create /nope/child x",                             # NoNode (parent)
    [
        "create /app/c1 v1",
        "create /app/c2 v2",
        "create /app/c1/g1 g",
        "create /app/c1/g2",
        "create /app/B upper",
        "ls /app",
        "ls -s /app",
        "ls -R /app",
        "get /app",
        "get -s /app",
        "set /app data2",
        "set -s /app data3",
        "stat /app",
        "set -v 2 /app data4",
        "get -s /app",
        "create -s /app/seq- a",
        "create -s /app/seq- b",
        "create -s /app/seq-",
        "ls /app",
        "get -s /app/seq-0000000005",
        "create -c /cont",
        "stat /cont",
        "create -t 3600000 /ttl tv",
        "stat /ttl",
        "create -s -t 3600000 /ttlseq- x",
        "sync /app",
        "getAllChildrenNumber /app",
        "getAllChildrenNumber /",
        "getAllChildrenNumber /app/c2",
        "getAcl /app",
        "getAcl -s /app",
        "ls /zookeeper",
        "get -s /",
        "get -s /zookeeper",
        "get -s /zookeeper/config",
        "getAcl /zookeeper/config",
        "quit",
    ],
    "ls /nope",                                          # NoNode
    "get /nope",
    "stat /nope",
    "getAllChildrenNumber /nope",
    "getEphemerals /nope",                               # ok, empty
    "set -v 99 /app x",                                  # BadVersion
    "delete /app",                                       # NotEmpty
    "delete -v 99 /app/c2",                              # BadVersion
    "delete -v 0 /app/c2",
    "delete /app/c2",                                    # NoNode
    "deleteall /app/c1",
    "ls -R /app",
    "delete /",                                          # BadArguments
    "delete /zookeeper",                                 # BadArguments
    "create /ro x world:anyone:r",
    "create /ro/child x",                                # NoAuth (CREATE on parent)
    "set /ro y",                                         # NoAuth (WRITE)
    "setAcl /ro world:anyone:cdrwa",                     # NoAuth (ADMIN)
    "getAcl /ro",
    "delete /ro",                                        # DELETE is checked on the parent: ok
    f"create /sec s digest:{ALICE}:cdrwa",
    "get /sec",                                          # NoAuth
    "getAcl /sec",                                       # NoAuth (needs READ or ADMIN)
    "ls /sec",                                           # NoAuth
    "ls -R /",                                           # partial listing, then NoAuth on /sec
    [
        "whoami",
        "addauth digest alice:wrong",
        "get /sec",                                      # still NoAuth (wrong password)
        "addauth digest alice:secret",
        "whoami",
        "get -s /sec",
        "getAcl /sec",
        f"setAcl /sec digest:{ALICE}:cdrwa,world:anyone:r",
        "getAcl -s /sec",
        "setAcl -v 99 /sec world:anyone:r",              # BadVersion (aclVersion)
        "create /sec/authnode a auth::cdrwa",
        "getAcl /sec/authnode",
        "addauth digest bob:pw",
        "whoami",
        "create /sec/both b auth::rw",
        "getAcl /sec/both",
        "create /sec/badacl x auth::bogus",              # client-side: bad perms
        "create /sec/ipnode x ip:127.0.0.1:cdrwa",
        "getAcl /sec/ipnode",
        "quit",
    ],
    "getAcl /sec",                                       # digest id masked without ADMIN
    "get /sec",                                          # world:anyone:r now
    "get /sec/authnode",                                 # NoAuth
    "get /sec/ipnode",                                   # ip:127.0.0.1 matches
    "whoami",
    [
        "create -e /app/e1 x",
        "create -e -s /app/e- y",
        "create /app/e1/child x",                        # NoChildrenForEphemerals
        "create -e /app/e1 dup",                         # NodeExists
        "getEphemerals /app",
        "getEphemerals /",
        "getEphemerals /nothing",
        "stat /app/e1",
        "ls /app",
        "quit",
    ],
    "ls /app",                                           # ephemerals gone after quit
    [
        "create /w",
        "create /p",
        "create /g g",
        "create /l",
        "addWatch /w",                                   # default PERSISTENT_RECURSIVE
        "addWatch -m PERSISTENT /p",
        "get -w /g",
        "ls -w /l",
        "stat -w /missing",
        "create /w/a 1",
        "set /w/a 2",
        "create /w/a/b 3",
        "delete /w/a/b",
        "set /w 9",
        "create /p/k",
        "set /p 2",
        "delete /p/k",
        "create /missing m",
        "set /g 2",
        "set /g 3",
        "create /l/c",
        "create /l/d",
        "removewatches /p",
        "set /p 3",
        "removewatches /g",                              # no watcher left
        # barrier: zkCli prints events on its own thread and may exit before printing
        # the last ones; these round trips give it time
        "sync /",
        "ls /w",
        "get /g",
        "getAllChildrenNumber /w",
        "quit",
    ],
    "getAllChildrenNumber /",
    "ls /",
    "bogus /x",                                          # unknown command: exit 127
]


# ---------------------------------------------------------------------------------- (a)
def test_hello_world_sanity(server):
    r = zkcli.run(server.port, args=["create", "/hello", "world"])
    assert r.rc == 0, r
    assert "Created /hello" in r.stderr + r.stdout
    r = zkcli.run(server.port, args=["get", "-s", "/hello"])
    assert r.rc == 0, r
    lines = r.stdout.splitlines()
    assert "world" in lines, r.stdout
    after = lines[lines.index("world") + 1:]
    keys = [l.split(" = ", 1)[0] for l in after if " = " in l]
    assert keys == STAT_KEYS, r.stdout
    stat = dict(l.split(" = ", 1) for l in after if " = " in l)
    assert stat["dataLength"] == "5"
    assert stat["numChildren"] == "0"
    assert stat["dataVersion"] == "0" and stat["cversion"] == "0" and stat["aclVersion"] == "0"
    assert stat["ephemeralOwner"] == "0x0"
    assert stat["cZxid"] == stat["mZxid"] == stat["pZxid"]
    assert stat["cZxid"].startswith("0x") and int(stat["cZxid"], 16) > 0
    assert stat["ctime"] == stat["mtime"]


# ---------------------------------------------------------------------------------- (b)
_transcripts = {}


def script_transcript(srv) -> str:
    if srv.kind not in _transcripts:
        results = zkcli.run_steps(srv.port, SCRIPT)
        _transcripts[srv.kind] = zkcli.transcript(results, srv.port)
    return _transcripts[srv.kind]


def _diff(a: str, b: str, an: str, bn: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), an, bn, n=4))


def test_zkcli_script_matches_expected(server):
    got = script_transcript(server)
    if os.environ.get("FK_REGEN_EXPECTED") and server.kind == "java":
        EXPECTED.parent.mkdir(parents=True, exist_ok=True)
        EXPECTED.write_text(got)
    expected = EXPECTED.read_text()
    if got != expected:
        out = Path(server.workdir) / "zkcli_script.actual.txt"
        out.write_text(got)
        pytest.fail(f"zkCli transcript of {server.kind} differs from {EXPECTED.name} "
                    f"(actual saved in {out}):\n" + _diff(expected, got, "expected(java)", server.kind))


def test_zkcli_script_differential(java_server, fk_server):
    java = script_transcript(java_server)
    fk = script_transcript(fk_server)
    assert java == fk, "zkCli transcript java vs ferrokeeper:\n" + _diff(java, fk, "java", "ferrokeeper")
