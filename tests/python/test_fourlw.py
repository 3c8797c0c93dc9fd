"""Four-letter words: exact texts where they are deterministic, line structure elsewhere.

* ``shape()`` turns a 4lw answer into a normalised text: keys kept in order, run-specific
  values (counters, latencies, sizes, ports, paths, session ids, dates) replaced by
  placeholders (<INT>, <FLOAT>, <HEX1>...), deterministic values kept.
* Fresh-server shapes of every enabled kind are compared with the checked-in Java shapes in
  tests/python/expected/fourlw_fresh.txt (regenerate with FK_REGEN_EXPECTED=1
  FK_TEST_SERVERS=java), and java vs ferrokeeper directly when both can run.
* The raw answers recorded from Java 3.8.0 are kept in expected/fourlw_golden.jsonl.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import socket
import time
from pathlib import Path

import pytest

import zkharness as h

HERE = Path(__file__).resolve().parent
EXPECTED_FRESH = HERE / "expected" / "fourlw_fresh.txt"
GOLDEN = HERE / "expected" / "fourlw_golden.jsonl"

VERSION_RE = re.compile(r"^3\.8\.\d+\S*, built on .+$")
INT_RE = re.compile(r"^-?\d+$")
FLOAT_RE = re.compile(r"^-?\d+\.\d+(?:E-?\d+)?$")
DATE_RE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                     r"\d\d \d\d:\d\d:\d\d [A-Z]{2,5} \d{4}")

SRVR_KEYS = ["Zookeeper version", "Latency min/avg/max", "Received", "Sent", "Connections",
             "Outstanding", "Zxid", "Mode", "Node count"]
CONF_KEYS = ["clientPort", "secureClientPort", "dataDir", "dataDirSize", "dataLogDir", "dataLogSize",
             "tickTime", "maxClientCnxns", "minSessionTimeout", "maxSessionTimeout",
             "clientPortListenBacklog", "serverId"]
ENVI_KEYS = ["zookeeper.version", "host.name", "java.version", "java.vendor", "java.home",
             "java.class.path", "java.library.path", "java.io.tmpdir", "java.compiler", "os.name",
             "os.arch", "os.version", "user.name", "user.home", "user.dir", "os.memory.free",
             "os.memory.max", "os.memory.total"]
# mntr values that are deterministic on a server in a known state
MNTR_EXACT = {"zk_server_state", "zk_ephemerals_count", "zk_num_alive_connections",
              "zk_outstanding_requests", "zk_znode_count", "zk_global_sessions", "zk_local_sessions",
              "zk_watch_count", "zk_approximate_data_size"}

NOT_WHITELISTED = "{} is not executed because it is not in the whitelist.\n"


def value_class(v: str) -> str:
    if INT_RE.match(v):
        return "<INT>"
    if FLOAT_RE.match(v):
        return "<FLOAT>"
    return "<TEXT>"


class Shaper:
    def __init__(self, server):
        self.server = server
        self.hex = {}

    def hexid(self, v: str) -> str:
        if int(v, 16) == 0:
            return "0x0"
        self.hex.setdefault(v, f"<HEX{len(self.hex) + 1}>")
        return self.hex[v]

    def version(self, v: str) -> str:
        assert VERSION_RE.match(v), f"version {v!r} does not look like '3.8.x-..., built on ...'"
        return "<VERSION>"

    def client_line(self, line: str) -> str:
        m = re.match(r"^ /127\.0\.0\.1:(\d+)\[(\d)\]\((.*)\)$", line)
        assert m, f"bad connection line {line!r}"
        fields = []
        for kv in m.group(3).split(","):
            k, v = kv.split("=", 1)
            if k in ("sid", "lcxid", "lzxid"):
                v = self.hexid(v) if k == "sid" else "<HEX>"
            elif k in ("lop", "to"):
                pass
            else:
                v = value_class(v)
            fields.append(f"{k}={v}")
        return f" /127.0.0.1:<PORT>[{m.group(2)}]({','.join(fields)})"

    def stats_lines(self, lines):
        out = []
        for line in lines:
            k, sep, v = line.partition(": ")
            assert sep, f"bad srvr line {line!r}"
            if k == "Zookeeper version":
                v = self.version(v)
            elif k == "Latency min/avg/max":
                parts = v.split("/")
                assert len(parts) == 3, line
                assert INT_RE.match(parts[0]) and FLOAT_RE.match(parts[1]) and INT_RE.match(parts[2]), line
                v = "<INT>/<FLOAT>/<INT>"
            elif k in ("Received", "Sent"):
                v = value_class(v)
            out.append(f"{k}: {v}")
        return out

    def __call__(self, word: str, text: str) -> str:
        if word in ("ruok", "isro", "gtmk") or text.endswith("not in the whitelist.\n"):
            return text
        lines = text.split("\n")
        assert lines[-1] == "", f"{word}: answer must end with a newline: {text[-40:]!r}"
        lines = lines[:-1]
        if word == "srvr":
            return "\n".join(self.stats_lines(lines)) + "\n"
        if word == "stat":
            assert lines[1] == "Clients:", text
            end = lines.index("", 2)
            clients = sorted(self.client_line(l) for l in lines[2:end])
            return "\n".join(self.stats_lines(lines[:1]) + ["Clients:"] + clients + [""]
                             + self.stats_lines(lines[end + 1:])) + "\n"
        if word == "cons":
            assert lines[-1] == "", f"cons must end with an empty line: {text!r}"
            return "\n".join(sorted(self.client_line(l) for l in lines[:-1]) + [""]) + "\n"
        if word == "conf":
            out = []
            for line in lines:
                k, sep, v = line.partition("=")
                assert sep, line
                if k == "clientPort":
                    assert v == str(self.server.port), line
                    v = "<PORT>"
                elif k in ("dataDir", "dataLogDir"):
                    assert v == str(self.server.data_dir / "version-2"), line
                    v = "<DATADIR>/version-2"
                elif k in ("dataDirSize", "dataLogSize"):
                    v = value_class(v)
                out.append(f"{k}={v}")
            return "\n".join(out) + "\n"
        if word == "envi":
            assert lines[0] == "Environment:", text
            out = ["Environment:"]
            for line in lines[1:]:
                k, sep, v = line.partition("=")
                assert sep and v, line
                out.append(f"{k}={self.version(v) if k == 'zookeeper.version' else '<VALUE>'}")
            return "\n".join(out) + "\n"
        if word == "mntr":
            out = []
            for line in lines:
                k, sep, v = line.partition("\t")
                assert sep and k.startswith("zk_"), line
                if k == "zk_version":
                    v = self.version(v)
                elif k not in MNTR_EXACT:
                    v = value_class(v)
                out.append(f"{k}\t{v}")
            return "\n".join(out) + "\n"
        if word == "dirs":
            out = []
            for line in lines:
                k, sep, v = line.partition(": ")
                assert sep and k in ("datadir_size", "logdir_size"), line
                out.append(f"{k}: {value_class(v)}")
            return "\n".join(out) + "\n"
        if word in ("wchc", "wchp"):
            # blocks: a header line then tab-indented lines; order of both is a hash order
            blocks, cur = [], None
            assert lines[-1] == "", text
            for line in lines[:-1]:
                if line.startswith("\t"):
                    cur[1].append(line)
                else:
                    cur = [line, []]
                    blocks.append(cur)
            norm = lambda s: re.sub(r"0x[0-9a-f]+", lambda m: self.hexid(m.group(0)), s)  # noqa: E731
            out = []
            for head, items in sorted(blocks):
                out.append(norm(head))
                out.extend(sorted(norm(i) for i in items))
            return "\n".join(out + [""]) + "\n"
        return text


FRESH_WORDS = ["ruok", "isro", "srvr", "stat", "conf", "envi", "dirs", "gtmk", "wchs", "cons", "mntr"]


def fresh_shapes(server) -> str:
    shaper = Shaper(server)
    out = []
    for word in FRESH_WORDS:
        out.append(f"==== {word}")
        out.append(shaper(word, server.four_letter(word)))
    return "\n".join(out)


def _diff(a, b, an, bn):
    return "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), an, bn, n=3))


# ----------------------------------------------------------------------------- tests
def test_ruok_imok(server):
    assert server.four_letter("ruok") == "imok"
    assert server.four_letter("isro") == "rw"


def test_fresh_server_shapes_match_java(server):
    got = fresh_shapes(server)
    if os.environ.get("FK_REGEN_EXPECTED") and server.kind == "java":
        EXPECTED_FRESH.write_text(got)
    expected = EXPECTED_FRESH.read_text()
    assert got == expected, f"{server.kind} 4lw shapes differ from Java's:\n" + \
        _diff(expected, got, "expected(java)", server.kind)


def test_fresh_shapes_differential(java_server, fk_server):
    java, fk = fresh_shapes(java_server), fresh_shapes(fk_server)
    assert java == fk, _diff(java, fk, "java", "ferrokeeper")


def test_srvr_structure_and_values(server):
    text = server.four_letter("srvr")
    lines = text.splitlines()
    assert [l.split(": ", 1)[0] for l in lines] == SRVR_KEYS
    kv = dict(l.split(": ", 1) for l in lines)
    assert kv["Mode"] == "standalone"
    # Java quirk: the root is in DataTree's node map twice (as "" and "/"), so a fresh server
    # with /, /zookeeper, /zookeeper/quota, /zookeeper/config reports 5 (and every count is +1)
    assert kv["Node count"] == "5"
    assert kv["Zxid"] == "0x0"
    assert kv["Outstanding"] == "0"
    assert kv["Connections"] == "1"       # the 4lw connection itself


def test_conf_values(server):
    conf = dict(l.split("=", 1) for l in server.four_letter("conf").splitlines())
    assert list(conf) == CONF_KEYS
    assert conf["clientPort"] == str(server.port)
    assert conf["secureClientPort"] == "-1"
    assert conf["dataDir"] == conf["dataLogDir"] == str(server.data_dir / "version-2")
    assert conf["tickTime"] == "2000"
    assert conf["maxClientCnxns"] == "60"
    assert conf["minSessionTimeout"] == "4000"
    assert conf["maxSessionTimeout"] == "40000"
    assert conf["clientPortListenBacklog"] == "-1"
    assert conf["serverId"] == "0"


def test_envi_keys(server):
    lines = server.four_letter("envi").splitlines()
    assert lines[0] == "Environment:"
    assert [l.split("=", 1)[0] for l in lines[1:]] == ENVI_KEYS
    version = lines[1].split("=", 1)[1]
    assert VERSION_RE.match(version)  # kazoo's server_version() parses this line


def test_stats_follow_activity(server, kazoo_factory):
    zk = kazoo_factory(server.hosts)
    zk.create("/a", b"x")
    zk.create("/b", b"yy", ephemeral=True)
    zk.exists("/a", watch=lambda e: None)           # data watch
    zk.get("/b", watch=lambda e: None)              # data watch
    zk.get_children("/", watch=lambda e: None)      # child watch
    sid = f"0x{zk.client_id[0]:x}"

    srvr = dict(l.split(": ", 1) for l in server.four_letter("srvr").splitlines())
    assert srvr["Node count"] == "7"
    assert srvr["Connections"] == "2"
    assert srvr["Zxid"] == "0x3"                    # createSession, create, create
    mntr = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
    assert mntr["zk_znode_count"] == "7"
    assert mntr["zk_ephemerals_count"] == "1"
    assert mntr["zk_watch_count"] == "3"
    assert mntr["zk_num_alive_connections"] == "2"
    assert mntr["zk_global_sessions"] == "1"
    # sum of path length + data length over the node map: fresh = 0 ("") + 1 ("/") + 10 + 16 + 17
    assert mntr["zk_approximate_data_size"] == "51"
    # wchs counts the data-watch table only
    assert server.four_letter("wchs") == "1 connections watching 2 paths\nTotal watches:2\n"
    assert server.four_letter("wchc") in (f"{sid}\n\t/a\n\t/b\n\n", f"{sid}\n\t/b\n\t/a\n\n")
    wchp = server.four_letter("wchp")
    assert sorted(wchp.split("\n/")) == sorted(f"/a\n\t{sid}\n/b\n\t{sid}\n\n".split("\n/"))

    stat = server.four_letter("stat").splitlines()
    clients = stat[2:stat.index("", 2)]
    assert len(clients) == 2
    assert any("[1](queued=0,recved=" in c for c in clients)   # kazoo's connection
    assert any(c.endswith("[0](queued=0,recved=1,sent=0)") for c in clients)  # this 4lw
    cons = server.four_letter("cons")
    assert cons.endswith("\n\n")
    lines = cons.splitlines()[:-1]
    assert len(lines) == 2
    mine = [l for l in lines if f"sid={sid}," in l]
    assert len(mine) == 1
    m = re.match(r"^ /127\.0\.0\.1:\d+\[1\]\(queued=0,recved=\d+,sent=\d+,sid=0x[0-9a-f]+,lop=\w+,"
                 r"est=\d+,to=10000,lcxid=0x[0-9a-f]+,lzxid=0x3,lresp=\d+,llat=\d+,minlat=\d+,"
                 r"avglat=\d+,maxlat=\d+\)$", mine[0])
    assert m, mine[0]

    dump = server.four_letter("dump")
    assert dump.startswith("SessionTracker dump:\n")
    assert f"ephemeral nodes dump:\nSessions with Ephemerals (1):\n{sid}:\n\t/b\n" in dump
    assert "\nConnections dump:\n" in dump

    assert server.four_letter("crst") == "Connection stats reset.\n"
    assert server.four_letter("srst") == "Server stats reset.\n"
    srvr = dict(l.split(": ", 1) for l in server.four_letter("srvr").splitlines())
    # reset counters (a kazoo ping may already have been counted again)
    assert re.match(r"^\d+/\d+\.\d+/\d+$", srvr["Latency min/avg/max"])
    assert int(srvr["Received"]) <= 3 and int(srvr["Sent"]) <= 3, srvr

    zk.stop()
    srvr = dict(l.split(": ", 1) for l in server.four_letter("srvr").splitlines())
    assert srvr["Node count"] == "6"                # the ephemeral went with the session
    assert srvr["Zxid"] == "0x4"                    # closeSession is a txn too
    deadline = time.monotonic() + 10
    while srvr["Connections"] != "1" and time.monotonic() < deadline:
        time.sleep(0.05)
        srvr = dict(l.split(": ", 1) for l in server.four_letter("srvr").splitlines())
    assert srvr["Connections"] == "1"
    mntr = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
    assert mntr["zk_ephemerals_count"] == "0"
    assert mntr["zk_global_sessions"] == "0"
    assert server.four_letter("wchs") == "0 connections watching 0 paths\nTotal watches:0\n"


def test_fsynctime_times_the_log_syncs_and_srst_resets_it(server, kazoo_factory):
    def fsync_summary():
        mntr = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
        return {k: mntr[f"zk_{k}_fsynctime"] for k in ("avg", "min", "max", "cnt", "sum")}

    before = fsync_summary()
    zk = kazoo_factory(server.hosts)
    for i in range(5):
        zk.create(f"/fsync-{i}", b"x")          # each waits for its own sync
    after = fsync_summary()
    synced = int(after["cnt"]) - int(before["cnt"])
    # One sync per group commit: createSession and five sequential creates, one at a time.
    assert 6 <= synced <= 7, (before, after)
    assert 0 <= int(after["min"]) <= int(after["max"]) and int(after["sum"]) >= int(after["max"])
    # Java rounds the average to four places (AvgMinMaxCounter).
    assert float(after["avg"]) == pytest.approx(int(after["sum"]) / int(after["cnt"]), abs=5e-5)
    # srst resets Java's metric summaries (ServerMetrics.resetAll), the sync times among them.
    assert server.four_letter("srst") == "Server stats reset.\n"
    assert fsync_summary() == {"avg": "0.0", "min": "0", "max": "0", "cnt": "0", "sum": "0"}
    zk.set("/fsync-0", b"y")
    assert int(fsync_summary()["cnt"]) == 1
    # The request latency summaries go back to zero with it.
    zk.get("/fsync-0")
    mntr = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
    assert server.four_letter("srst") == "Server stats reset.\n"
    reset = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
    for name in ("readlatency", "updatelatency"):
        assert int(mntr[f"zk_cnt_{name}"]) >= 1 and reset[f"zk_cnt_{name}"] == "0", (name, mntr, reset)


def test_client_response_sizes_are_minus_one_until_a_response_and_after_srst(server, kazoo_factory):
    keys = [f"zk_{k}_client_response_size" for k in ("last", "min", "max")]

    def sizes():
        mntr = dict(l.split("\t", 1) for l in server.four_letter("mntr").splitlines())
        return [int(mntr[k]) for k in keys]

    assert sizes() == [-1, -1, -1]               # Java's BufferStats before any response
    zk = kazoo_factory(server.hosts)
    zk.create("/sizes", b"x")
    last, smallest, largest = sizes()
    assert 0 < smallest <= last <= largest, (last, smallest, largest)
    assert server.four_letter("srst") == "Server stats reset.\n"
    assert sizes() == [-1, -1, -1]
    zk.get("/sizes")
    assert min(sizes()) > 0


def test_golden_answers_parse(server):
    """The answers recorded from Java 3.8.0 (expected/fourlw_golden.jsonl) have the same shape."""
    golden = {}
    for line in GOLDEN.read_text().splitlines():
        d = json.loads(line)
        golden[d["4lw"]] = d["text"]
    for word in ("srvr", "mntr", "envi", "conf"):
        g_keys = [re.split(r": |\t|=", l, maxsplit=1)[0] for l in golden[word].splitlines()]
        s_keys = [re.split(r": |\t|=", l, maxsplit=1)[0] for l in server.four_letter(word).splitlines()]
        if word == "mntr":
            # per-namespace summaries (zk_*_{read,write}_per_namespace) exist only for top-level
            # znodes that saw traffic; the golden server had some, this fresh one has none
            g_keys = [k for k in g_keys if not k.endswith("_per_namespace")]
        assert s_keys == g_keys, word


@pytest.mark.parametrize("whitelist,allowed", [
    ("srvr", {"srvr"}),
    (None, {"srvr"}),                       # key absent: the default is srvr only
    ("stat, ruok", {"srvr", "stat", "ruok"}),  # entries are trimmed; srvr is always added
    ("ruok,bogus", {"srvr", "ruok"}),
])
def test_whitelist(server_kind, server_factory, whitelist, allowed):
    srv = server_factory(server_kind, extra_cfg={"4lw.commands.whitelist": whitelist})
    for word in ("ruok", "srvr", "stat", "mntr", "isro", "conf", "envi", "wchs", "dump", "cons"):
        answer = srv.four_letter(word)
        if word in allowed:
            assert "not in the whitelist" not in answer, (word, answer)
        else:
            assert answer == NOT_WHITELISTED.format(word), (word, answer)
    assert srv.four_letter("ruok") == ("imok" if "ruok" in allowed else NOT_WHITELISTED.format("ruok"))


def test_four_letter_word_connection_is_closed_after_answer(server):
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(b"ruok")
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = s.recv(100)
            if not chunk:
                break
            data += chunk
        else:
            pytest.fail("server kept the 4lw connection open")
    assert data == b"imok"
