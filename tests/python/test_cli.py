"""`ferrokeeper cli` (zkCli.sh compatible) against the same server as Java's zkCli.sh.

The scripted session of test_zkcli.py (one-shot commands and stdin sessions, error paths,
ACLs, auth, ephemerals, watches) is run with ``ferrokeeper cli`` instead of zkCli.sh and its
normalised transcript (stdout, stderr, node watch events, exit codes; times and ids aside) must
equal the transcript recorded from Java's zkCli.sh (tests/python/expected/zkcli_script.txt).

Also: argument errors print the command's usage line and exit 1, an unknown command prints the
whole usage and exits 127, and the multi-call name ``zkCli.sh`` behaves the same.
"""

from __future__ import annotations

import difflib
import os
import shlex
import time
import subprocess
from pathlib import Path
from typing import List, Optional, Sequence

import pytest

import zkcli
import zkharness as h
from test_zkcli import SCRIPT

EXPECTED = Path(__file__).resolve().parent / "expected" / "zkcli_script.txt"

pytestmark = pytest.mark.skipif(h.ferrokeeper_available() is not None,
                                reason=f"ferrokeeper binary: {h.ferrokeeper_available()}")


def fk_cli(port: int, args: Optional[Sequence[str]] = None, script: Optional[Sequence[str]] = None,
           program: Optional[List[str]] = None, timeout: float = 60.0) -> zkcli.CliResult:
    """Like zkcli.run, with ferrokeeper's cli; the label says zkCli.sh so transcripts compare."""
    assert (args is None) != (script is None)
    cmd = (program or [str(h.FK_BINARY), "cli"]) + ["-server", f"{h.HOST}:{port}"]
    if args is not None:
        cmd += list(args)
        stdin = ""
        label = "$ zkCli.sh -server 127.0.0.1:PORT " + " ".join(shlex.quote(a) for a in args)
    else:
        stdin = "".join(line + "\n" for line in script)
        label = "$ zkCli.sh -server 127.0.0.1:PORT <<EOF\n" + stdin + "EOF"
    proc = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout,
                          env=zkcli.zkcli_env())
    stdout, events = zkcli.split_events(proc.stdout)
    return zkcli.CliResult(label=label, rc=proc.returncode, stdout=stdout, stderr=proc.stderr,
                           events=events)


def run_steps(port: int, steps) -> List[zkcli.CliResult]:
    results = []
    for step in steps:
        if isinstance(step, str):
            results.append(fk_cli(port, args=shlex.split(step)))
        else:
            results.append(fk_cli(port, script=list(step)))
    return results


def _diff(a: str, b: str, an: str, bn: str) -> str:
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), an, bn, n=3))


def test_cli_script_matches_java_zkcli_transcript(server):
    """The whole zkCli script, against each enabled server kind, equals Java zkCli's transcript."""
    got = zkcli.transcript(run_steps(server.port, SCRIPT), server.port)
    expected = EXPECTED.read_text()
    if got != expected:
        out = Path(server.workdir) / "cli_script.actual.txt"
        out.write_text(got)
        pytest.fail(f"ferrokeeper cli transcript against {server.kind} differs from Java zkCli's "
                    f"(actual in {out}):\n" + _diff(expected, got, "zkCli.sh", "ferrokeeper cli"))


ARGUMENT_ERRORS = [
    (["create"], 1, "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    (["get"], 1, "get [-s] [-w] path"),
    (["ls"], 1, "ls [-s] [-w] [-R] path"),
    (["set", "/a"], 1, "set [-s] [-v version] path data"),
    (["stat"], 1, "stat [-w] path"),
    (["delete"], 1, "delete [-v version] path"),
    (["sync"], 1, "sync path"),
    (["getAcl"], 1, "getAcl [-s] path"),
    (["setAcl", "/a"], 1, "setAcl [-s] [-v version] [-R] path acl"),
    (["addWatch", "-m", "BAD", "/a"], 1,
     "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - "
     "default is PERSISTENT_RECURSIVE"),
    (["removewatches"], 1, "removewatches path [-c|-d|-a] [-l]"),
    (["getAllChildrenNumber"], 1, "getAllChildrenNumber path"),
    (["deleteall"], 1, "deleteall path [-b batch size]"),
    (["ls", "-x", "/"], 1, "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -x"),
    (["create", "-c", "-e", "/cx", "x"], 1,
     "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential."),
    (["redo", "1"], 1, "Command index out of range"),
    (["get", "nopath"], 1, "Path must start with / character"),
]


@pytest.mark.parametrize("args,rc,message", ARGUMENT_ERRORS, ids=[" ".join(a[0]) for a in ARGUMENT_ERRORS])
def test_argument_errors_print_like_zkcli(fk_server, args, rc, message):
    """Expected lines and codes recorded from Debian's zkCli.sh 3.8.0."""
    r = fk_cli(fk_server.port, args=args)
    assert (r.rc, r.stderr.strip().splitlines()[-1]) == (rc, message), r


def test_unknown_command_prints_usage_and_exits_127(fk_server):
    r = fk_cli(fk_server.port, args=["bogus", "/x"])
    assert r.rc == 127
    lines = r.stderr.splitlines()
    assert lines[0] == "ZooKeeper -server host:port -client-configuration properties-file cmd args"
    assert lines[-1] == "Command not found: Command not found bogus"
    assert "\tls [-s] [-w] [-R] path" in lines


def test_misc_commands(fk_server):
    r = fk_cli(fk_server.port, args=["version"])
    assert r.rc == 0 and r.stdout.splitlines()[-1].startswith("ZooKeeper CLI version: 3.8.0"), r
    r = fk_cli(fk_server.port, args=["printwatches"])
    assert r.stdout.splitlines()[-1] == "printwatches is on", r
    r = fk_cli(fk_server.port, script=["create /h x", "history", "redo 0", "get /h", "close", "ls /",
                                       "quit"])
    out = r.stdout.splitlines()
    assert "0 - create /h x" in out and "1 - history" in out, r
    assert "Node already exists: /h" in r.stderr   # redo 0 ran the create again
    assert out[-1] == "Not connected", r            # after close
    r = fk_cli(fk_server.port, args=["config", "-s"])
    assert r.rc == 0 and "aclVersion = -1" in r.stdout, r
    r = fk_cli(fk_server.port, args=["create", "-t", "100", "/ttl", "x"])
    # TTL nodes need extendedTypesEnabled (set by the harness)
    assert r.rc == 0 and r.stderr.strip() == "Created /ttl", r


def test_multicall_name_zkcli_sh(fk_server, tmp_path):
    link = tmp_path / "zkCli.sh"
    os.symlink(h.FK_BINARY, link)
    r = fk_cli(fk_server.port, args=["create", "/via-link", "x"], program=[str(link)])
    assert r.rc == 0 and r.stderr.strip() == "Created /via-link", r
    r = fk_cli(fk_server.port, args=["get", "/via-link"], program=[str(link)])
    assert r.stdout.splitlines()[-1] == "x", r


def test_connection_refused_fails_like_connection_loss(tmp_path):
    port = h.free_port()
    r = fk_cli(port, args=["-timeout", "1500", "ls", "/"], timeout=30)
    assert r.rc == 1 and r.stderr.strip() == "KeeperErrorCode = ConnectionLoss for /", r


def test_interactive_terminal_has_prompt_and_line_history(fk_server):
    """On a terminal: JLine-style prompt with the command count, and arrow-up history."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # child: the cli on the pty
        os.execv(str(h.FK_BINARY), [str(h.FK_BINARY), "cli", "-server", f"{h.HOST}:{fk_server.port}"])
    output = b""

    def read_until(marker: bytes, timeout: float = 20.0) -> bytes:
        nonlocal output
        deadline = time.monotonic() + timeout
        while marker not in output and time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    output += os.read(fd, 65536)
                except OSError:
                    break
        assert marker in output, output.decode(errors="replace")
        return output

    try:
        prompt0 = f"[zk: {h.HOST}:{fk_server.port}(CONNECTED) 0] ".encode()
        read_until(prompt0)
        assert b"JLine support is enabled" in output
        os.write(fd, b"create /tty hello\r")
        read_until(f"(CONNECTED) 1] ".encode())
        os.write(fd, b"get /tty\r")
        read_until(f"(CONNECTED) 2] ".encode())
        assert output.count(b"hello") >= 2           # typed once, printed once
        os.write(fd, b"\x1b[A\r")                    # arrow up: get /tty again
        read_until(f"(CONNECTED) 3] ".encode())
        assert output.count(b"\nhello") >= 2 or output.count(b"hello\r\n") >= 2, output
        os.write(fd, b"history\r")
        read_until(b"3 - history")
        assert b"1 - get /tty" in output and b"2 - get /tty" in output
        os.write(fd, b"quit\r")
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        try:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
