"""Operator commands, differential: every AdminServer command (and alias) and every four-letter
word, sent to Apache ZooKeeper 3.8 and to ferrokeeper after the same session activity (same tree,
same sessions, same watches). Same keys in the same order, same value types; values that are
measurements (latencies, sizes, times, ports, ids) are normalised, the rest compared exactly.

Also without Java: the whitelist applies to every word (and not to the AdminServer), stmk/gtmk
round-trip, the AdminServer's listing, aliases, unknown commands and HTTP details.
"""

from __future__ import annotations

import difflib
import json
import re
import socket
import struct
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, Tuple

import pytest

import zkharness as h
from test_fourlw import Shaper

VERSION_RE = re.compile(r"^3\.8\.\d+\S*, built on .+$")

# (primary name, aliases) as Java 3.8 registers them
COMMANDS = [
    ("configuration", ["conf", "config"]), ("connection_stat_reset", ["crst"]),
    ("connections", ["cons"]), ("dirs", []), ("dump", []), ("environment", ["env", "envi"]),
    ("get_trace_mask", ["gtmk"]), ("hash", []), ("initial_configuration", ["icfg"]),
    ("is_read_only", ["isro"]), ("last_snapshot", ["lsnp"]), ("leader", ["lead"]),
    ("monitor", ["mntr"]), ("observer_connection_stat_reset", ["orst"]), ("observers", ["obsr"]),
    ("ruok", []), ("server_stats", ["srvr"]), ("set_trace_mask", ["stmk"]),
    ("stat_reset", ["srst"]), ("stats", ["stat"]), ("system_properties", ["sysp"]),
    ("voting_view", []), ("watch_summary", ["wchs"]), ("watches", ["wchc"]),
    ("watches_by_path", ["wchp"]), ("zabstate", []),
]

# keys whose values are measurements or run-specific: only their JSON type is compared
MEASURED = {
    "packets_sent", "packets_received", "avg_latency", "max_latency", "min_latency", "uptime",
    "last_buffer_size", "min_buffer_size", "max_buffer_size", "data_dir_size", "log_dir_size",
    "datadir_size", "logdir_size", "established", "last_response_time", "last_latency",
    "last_cxid", "last_zxid", "remote_socket_address", "timestamp", "zxid", "interest_ops",
    "outstanding_requests", "fsync_threshold_exceed_count", "last_processed_zxid",
}
# monitor values that are deterministic for a server in a known state
MONITOR_EXACT = {"server_state", "ephemerals_count", "num_alive_connections", "znode_count",
                 "global_sessions", "local_sessions", "watch_count", "approximate_data_size"}


def admin_cfg(port: int) -> Dict[str, str]:
    return {"admin.enableServer": "true", "admin.serverPort": str(port),
            "admin.serverAddress": h.HOST}


def http_get(port: int, path: str) -> Tuple[int, Dict[str, str], str]:
    try:
        with urllib.request.urlopen(f"http://{h.HOST}:{port}{path}", timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()


# Java's AdminServer needs Jetty and Jackson, which the harness leaves off the classpath.
ADMIN_JARS = ["jetty9-server", "jetty9-servlet", "jetty9-http", "jetty9-io", "jetty9-util",
              "jetty9-security", "servlet-api", "jackson-databind", "jackson-core",
              "jackson-annotations"]


class JavaWithAdmin(h.ServerHandle):
    def command(self):
        cmd = super().command()
        i = cmd.index("-cp") + 1
        extra = [f"/usr/share/java/{jar}.jar" for jar in ADMIN_JARS]
        cmd[i] = ":".join([cmd[i]] + [j for j in extra if Path(j).exists()])
        return cmd


@pytest.fixture
def admin_factory(tmp_path_factory):
    started = []

    def factory(kind, extra_cfg=None):
        port = h.free_port()
        cfg = {**admin_cfg(port), **(extra_cfg or {})}
        cls = JavaWithAdmin if kind == "java" else h.ServerHandle
        srv = cls(kind, tmp_path_factory.mktemp(f"admin-{kind}"), extra_cfg=cfg)
        started.append(srv)
        srv.start()
        srv.admin_port = port
        return srv

    yield factory
    for srv in reversed(started):
        srv.stop()


def start_admin_server(factory, kind: str):
    srv = factory(kind)
    port = srv.admin_port
    deadline = time.monotonic() + 30
    while True:
        try:
            if http_get(port, "/commands/ruok")[0] == 200:
                return srv
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"{kind} AdminServer on {port} never answered")
        time.sleep(0.1)


def activity(srv, kazoo_factory):
    """The same session activity on each server: nodes, an ephemeral, watches of each kind."""
    zk = kazoo_factory(srv.hosts)
    zk.create("/a", b"x")
    zk.create("/b", b"yy", ephemeral=True)
    zk.create("/c/d", b"z", makepath=True)
    zk.exists("/a", watch=lambda e: None)
    zk.get("/b", watch=lambda e: None)
    zk.exists("/missing", watch=lambda e: None)
    zk.get_children("/", watch=lambda e: None)
    return zk


class Normaliser:
    def __init__(self, srv):
        self.srv = srv
        self.ids: Dict[int, str] = {}

    def sid(self, value) -> str:
        value = int(value)
        self.ids.setdefault(value, f"<SID{len(self.ids) + 1}>")
        return self.ids[value]

    def text(self, value: str) -> str:
        value = value.replace(str(self.srv.data_dir), "<DATADIR>")
        value = value.replace(f"clientPort={self.srv.port}", "clientPort=<PORT>")
        value = value.replace(f"admin.serverPort={getattr(self.srv, 'admin_port', 0)}",
                              "admin.serverPort=<PORT>")
        if VERSION_RE.match(value):
            return "<VERSION>"
        return value

    def __call__(self, command: str, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                if command == "monitor" and k.endswith("_per_namespace"):
                    continue
                if command == "dump" and key == "expiry_time_to_session_ids":
                    # Java's expiry queue keeps emptied buckets until they expire: timing
                    if v:
                        out[f"<TIME{len(out)}>"] = [self.sid(s) for s in v]
                elif key in ("session_id_to_ephemeral_paths", "session_id_to_watched_paths"):
                    out[self.sid(k)] = sorted(v)
                elif key == "path_to_session_ids":
                    out[k] = sorted(self.sid(s) for s in v)
                else:
                    out[k] = self(command, v, k)
            if key == "server_stats":
                # Java serialises ServerStats' getters in an order that varies between runs
                out = dict(sorted(out.items()))
            if key in ("session_id_to_ephemeral_paths", "session_id_to_watched_paths",
                       "path_to_session_ids"):
                out = dict(sorted(out.items()))
            return out
        if isinstance(value, list):
            return [self(command, v, key) for v in value]
        if key == "session_id":
            return self.sid(value)
        if command == "environment" and key != "zookeeper.version":
            return f"<{type(value).__name__}>"
        if command == "monitor" and key not in MONITOR_EXACT and key != "version":
            return f"<{type(value).__name__}>"
        if key in MEASURED:
            return f"<{type(value).__name__}>"
        if key == "client_port":
            assert value == self.srv.port
            return "<PORT>"
        if isinstance(value, str):
            return self.text(value)
        return value


def admin_shapes(srv) -> Dict[str, Any]:
    shapes = {}
    norm = Normaliser(srv)
    for name, aliases in COMMANDS:
        for alias in [name] + aliases:
            status, headers, body = http_get(srv.admin_port, f"/commands/{alias}")
            assert status == 200, (srv.kind, alias, status, body)
            assert headers.get("content-type") == "application/json", (srv.kind, alias, headers)
            data = json.loads(body, object_pairs_hook=dict)
            if name == "system_properties":
                # JVM properties: only the envelope compares
                data = {"...": "...", "command": data["command"], "error": data["error"]}
            elif name == "stat_reset" or name == "connection_stat_reset":
                pass
            shapes[f"{alias}"] = norm(name, data)
    return shapes


def test_admin_commands_differential(admin_factory, kazoo_factory):
    h.require_kind("java")
    h.require_kind("ferrokeeper")
    results = {}
    for kind in ("java", "ferrokeeper"):
        srv = start_admin_server(admin_factory, kind)
        activity(srv, kazoo_factory)
        results[kind] = admin_shapes(srv)
    java, fk = results["java"], results["ferrokeeper"]
    problems = []
    for alias in java:
        if json.dumps(java[alias]) != json.dumps(fk.get(alias)):
            problems.append(f"--- {alias}\njava:        {json.dumps(java[alias])}\n"
                            f"ferrokeeper: {json.dumps(fk.get(alias))}")
    assert not problems, "\n".join(problems)


def admin_listing_and_errors(srv) -> Dict[str, Any]:
    out = {}
    status, headers, body = http_get(srv.admin_port, "/commands")
    out["listing"] = (status, body)
    status, headers, body = http_get(srv.admin_port, "/commands/nosuch")
    out["unknown"] = (status, headers.get("content-type"), json.loads(body))
    status, _, body = http_get(srv.admin_port, "/commands/set_trace_mask")
    out["stmk-no-arg"] = json.loads(body)
    status, _, body = http_get(srv.admin_port, "/commands/set_trace_mask?traceMask=42")
    out["stmk"] = json.loads(body)
    status, _, body = http_get(srv.admin_port, "/commands/get_trace_mask")
    out["gtmk"] = json.loads(body)
    out["gtmk-4lw"] = h.four_letter(srv.port, "gtmk")
    out["not-found"] = http_get(srv.admin_port, "/nosuch")[0]
    return out


def test_admin_listing_errors_and_trace_mask(server_kind, admin_factory):
    srv = start_admin_server(admin_factory, server_kind)
    got = admin_listing_and_errors(srv)
    names = [name for name, _ in COMMANDS]
    assert got["listing"][0] == 200
    assert got["listing"][1] == "".join(f'<a href="/commands/{n}">{n}</a>\n<br/>\n' for n in names)
    assert got["unknown"] == (200, "application/json",
                              {"command": "nosuch", "error": "Unknown command: nosuch"})
    assert list(got["stmk-no-arg"].items()) == [
        ("error", "setTraceMask requires long traceMask argument"), ("command", "set_trace_mask")]
    assert got["stmk"] == {"tracemask": 42, "command": "set_trace_mask", "error": None}
    assert got["gtmk"] == {"tracemask": 42, "command": "get_trace_mask", "error": None}
    assert got["gtmk-4lw"] == "42"
    assert got["not-found"] == 404


def test_admin_disabled_by_config(server_kind, server_factory):
    port = h.free_port()
    srv = server_factory(server_kind, extra_cfg={"admin.enableServer": "false",
                                                 "admin.serverPort": str(port)})
    assert srv.four_letter("ruok") == "imok"
    with pytest.raises(OSError):
        socket.create_connection((h.HOST, port), timeout=2).close()


WORDS = ["conf", "cons", "crst", "dirs", "dump", "envi", "gtmk", "hash", "isro", "mntr", "ruok",
         "srst", "srvr", "stat", "wchc", "wchp", "wchs"]


def shape_word(shaper: Shaper, word: str, text: str) -> str:
    if word == "dump":
        # the connection-expiry section: bucket dates and empty buckets are timing; the
        # connections listed (ip and session) must agree
        head, _, conns = text.partition("Connections dump:\n")
        lines = conns.splitlines()
        assert lines and re.match(r"^Connections Sets \(\d+\)/\(\d+\):$", lines[0]), conns
        listed = sorted(re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:<PORT>", l.strip())
                        for l in lines[1:] if l.startswith("\t"))
        text = head + "Connections dump:\n" + "\n".join(listed) + "\n"
        text = re.sub(r"expire at [^:]*\d\d:\d\d:\d\d [A-Z]+ \d{4}:", "expire at <DATE>:", text)
        # Java's expiry queue keeps emptied buckets until they expire: timing, not state
        text = re.sub(r"^0 expire at <DATE>:\n", "", text, flags=re.M)
        text = re.sub(r"^Session Sets \(\d+\)/", "Session Sets (<N>)/", text, flags=re.M)
        return re.sub(r"0x[0-9a-f]+", lambda m: shaper.hexid(m.group(0)), text)
    if word == "mntr":
        # Java's per-namespace summaries (zk_*_{read,write}_per_namespace) are not kept by
        # ferrokeeper (a known deviation); every other key must be there, in Java's order.
        text = "".join(l for l in text.splitlines(True) if not l.split("\t")[0].endswith("_per_namespace"))
    if word == "hash":
        return re.sub(r"^[0-9a-f]+: -?\d+$", "<ZXID>: <DIGEST>", text, flags=re.M)
    return shaper(word, text)


def fourlw_shapes(srv) -> Dict[str, str]:
    shaper = Shaper(srv)
    shapes = {w: shape_word(shaper, w, srv.four_letter(w)) for w in WORDS}
    payload = struct.pack(">q", 1234)
    shapes["stmk"] = h.four_letter(srv.port, "stmk", payload=payload)
    shapes["gtmk after stmk"] = srv.four_letter("gtmk")
    return shapes


def test_every_four_letter_word_differential(server_factory, kazoo_factory):
    h.require_kind("java")
    h.require_kind("ferrokeeper")
    results = {}
    for kind in ("java", "ferrokeeper"):
        srv = server_factory(kind)
        activity(srv, kazoo_factory)
        results[kind] = fourlw_shapes(srv)
    java, fk = results["java"], results["ferrokeeper"]
    diffs = ["".join(difflib.unified_diff(java[w].splitlines(True), fk[w].splitlines(True),
                                          f"java {w}", f"ferrokeeper {w}", n=1))
             for w in java if java[w] != fk[w]]
    assert not diffs, "\n".join(diffs)
    assert fk["stmk"] == "1234" and fk["gtmk after stmk"] == "1234"


def test_whitelist_covers_every_word(server_kind, admin_factory):
    """Default whitelist (srvr only): every other word is refused with Java's sentence; the
    AdminServer is not subject to it."""
    srv = admin_factory(server_kind, extra_cfg={"4lw.commands.whitelist": None})
    port = srv.admin_port
    for word in WORDS + ["stmk"]:
        payload = struct.pack(">q", 1) if word == "stmk" else b""
        answer = h.four_letter(srv.port, word, payload=payload)
        if word == "srvr":
            assert "Mode: standalone" in answer
        else:
            assert answer == f"{word} is not executed because it is not in the whitelist.\n", word
    deadline = time.monotonic() + 30
    while True:
        try:
            status, _, body = http_get(port, "/commands/wchc")
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
    assert status == 200 and json.loads(body)["command"] == "watches"
