"""Malformed client traffic on raw sockets.

For every case: the connection is closed (or the request errored, where Java keeps the
connection), the server process is still alive, a fresh kazoo client works, and data
written before is intact.
"""

from __future__ import annotations

import random
import socket
import time

import pytest

import zkproto as p

CANARY = b"precious data"


@pytest.fixture
def canary(server, kazoo_factory):
    zk = kazoo_factory(server.hosts)
    zk.create("/canary", CANARY)
    zk.create("/canary/child", b"c")
    zk.stop()
    return server


def assert_healthy(server, kazoo_factory):
    assert server.is_running(), f"{server.kind} server died"
    zk = kazoo_factory(server.hosts)
    data, stat = zk.get("/canary")
    assert data == CANARY and stat.version == 0 and stat.numChildren == 1
    assert zk.get_children("/canary") == ["child"]
    zk.create("/after", b"ok")
    assert zk.get("/after")[0] == b"ok"
    zk.delete("/after")
    zk.stop()
    assert "Mode: standalone" in server.four_letter("srvr")


def connect(server) -> socket.socket:
    return socket.create_connection((server.host, server.port), timeout=10)


def handshake(sock, timeout_ms=30000):
    sock.sendall(p.frame(p.connect_request(timeout_ms)))
    resp = p.parse_connect_response(p.read_frame(sock))
    assert resp.session_id != 0 and resp.timeout_ms == timeout_ms
    return resp


# ------------------------------------------------------- closed before/without a session
PRE_HANDSHAKE_CLOSE = {
    "negative_length": p.int32(-1),
    "length_over_jute_maxbuffer": p.int32(0xFFFFF + 1),
    "huge_length": p.int32(0x7FFFFFFF),
    "zero_length_connect": p.int32(0),
    "junk_not_a_4lw_abcd": b"abcd",         # 0x61626364 read as a length: too large
    "junk_uppercase_RUOK": b"RUOK",         # 4lw are case-sensitive
    "junk_deadbeef": b"\xde\xad\xbe\xef",   # negative length
    "request_before_handshake": p.frame(p.int32(1) + p.int32(p.GET_DATA) + p.ustring("/canary")
                                        + p.boolean(False)),
    "connect_with_zxid_ahead_of_server": p.frame(p.connect_request(30000, last_zxid=1 << 40)),
}


@pytest.mark.parametrize("case", sorted(PRE_HANDSHAKE_CLOSE))
def test_closed_without_reply(canary, kazoo_factory, case):
    with connect(canary) as sock:
        sock.sendall(PRE_HANDSHAKE_CLOSE[case])
        got = p.wait_closed(sock, 10)
    assert got == b"", f"unexpected answer {got[:64]!r}"
    assert_healthy(canary, kazoo_factory)


CLIENT_GIVES_UP = {
    "truncated_connect_request": p.int32(44) + p.connect_request(30000)[:10],
    "partial_length_prefix": b"\x00\x00",
    "max_length_frame_never_completed": p.int32(0xFFFFF) + b"\x00" * 100,
}


@pytest.mark.parametrize("case", sorted(CLIENT_GIVES_UP))
def test_client_closes_mid_frame(canary, kazoo_factory, case):
    with connect(canary) as sock:
        sock.sendall(CLIENT_GIVES_UP[case])
        # a frame that is merely incomplete (length <= jute.maxbuffer) is waited for
        sock.settimeout(0.5)
        with pytest.raises(socket.timeout):
            sock.recv(1)
    assert_healthy(canary, kazoo_factory)


# ------------------------------------------------------------ within an established session
AFTER_HANDSHAKE_CLOSE = {
    "negative_length": p.int32(-1),
    "length_over_jute_maxbuffer": p.int32(0xFFFFF + 1),
    "header_too_short": p.frame(p.int32(1)),
}


@pytest.mark.parametrize("case", sorted(AFTER_HANDSHAKE_CLOSE))
def test_closed_after_handshake(canary, kazoo_factory, case):
    with connect(canary) as sock:
        handshake(sock)
        sock.sendall(AFTER_HANDSHAKE_CLOSE[case])
        got = p.wait_closed(sock, 10)
    assert got == b""
    assert_healthy(canary, kazoo_factory)


@pytest.mark.parametrize("opcode", [999, 0, -3, 10])
def test_unknown_opcode_replies_unimplemented_then_closes(canary, kazoo_factory, opcode):
    with connect(canary) as sock:
        resp = handshake(sock)
        sock.sendall(p.frame(p.int32(7) + p.int32(opcode)))
        reply = p.read_frame(sock)
        r = p.Reader(reply)
        xid, zxid, err = r.int32(), r.int64(), r.int32()
        assert (xid, err) == (7, p.UNIMPLEMENTED), (xid, zxid, err)
        assert r.remaining() == 0
        assert zxid == -1, "Java answers an unknown opcode with zxid -1 in the reply header"
        assert p.wait_closed(sock, 10) == b""
    # only the connection was closed: the session lives on and can be resumed
    again = p.RawSession(canary.host, canary.port, timeout_ms=30000,
                         session_id=resp.session_id, passwd=resp.passwd)
    try:
        assert again.session_id == resp.session_id and again.timeout_ms == 30000
        assert again.get_data("/canary").err == 0
    finally:
        again.close_session()
    assert_healthy(canary, kazoo_factory)


UNDECODABLE_REQUESTS = {
    # CreateRequest whose path claims 1e9 bytes
    "create_with_absurd_string_length": p.int32(p.CREATE) + p.int32(1_000_000_000),
    # GetDataRequest cut inside the path
    "getdata_truncated_body": p.int32(p.GET_DATA) + p.int32(3) + b"/c",
}


@pytest.mark.parametrize("case", sorted(UNDECODABLE_REQUESTS))
def test_undecodable_request_gets_marshalling_error(canary, kazoo_factory, case):
    """Java answers -5 (MarshallingError) and keeps the connection and session usable."""
    with connect(canary) as sock:
        handshake(sock)
        sock.sendall(p.frame(p.int32(1) + UNDECODABLE_REQUESTS[case]))
        r = p.Reader(p.read_frame(sock))
        xid, zxid, err = r.int32(), r.int64(), r.int32()
        assert (xid, err) == (1, -5), (xid, zxid, err)
        assert r.remaining() == 0
        # the same connection still serves requests
        sock.sendall(p.frame(p.int32(2) + p.int32(p.GET_DATA) + p.ustring("/canary") + p.boolean(False)))
        r = p.Reader(p.read_frame(sock))
        xid, zxid, err = r.int32(), r.int64(), r.int32()
        assert (xid, err) == (2, 0)
        assert r.buffer() == CANARY
    assert_healthy(canary, kazoo_factory)


def test_connect_without_read_only_flag_gets_short_response(canary, kazoo_factory):
    """Pre-3.4 clients omit the trailing readOnly byte; the reply then omits it too."""
    with connect(canary) as sock:
        sock.sendall(p.frame(p.connect_request(30000, read_only=None)))
        payload = p.read_frame(sock)
        assert len(payload) == 4 + 4 + 8 + 4 + 16
        resp = p.parse_connect_response(payload)
        assert resp.session_id != 0 and resp.read_only is None
        sock.sendall(p.frame(p.int32(1) + p.int32(p.EXISTS) + p.ustring("/canary") + p.boolean(False)))
        r = p.Reader(p.read_frame(sock))
        assert (r.int32(), r.int64() > 0, r.int32()) == (1, True, 0)
        assert r.stat().data_length == len(CANARY)
    assert_healthy(canary, kazoo_factory)


def test_random_junk_connections(canary, kazoo_factory):
    rng = random.Random(20240601)
    socks = []
    try:
        for _ in range(40):
            s = connect(canary)
            n = rng.choice([1, 3, 4, 5, 8, 16, 64, 300])
            s.sendall(bytes(rng.randrange(256) for _ in range(n)))
            socks.append(s)
        time.sleep(0.3)
    finally:
        for s in socks:
            s.close()
    assert_healthy(canary, kazoo_factory)
