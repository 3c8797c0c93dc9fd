"""A tiny raw ZooKeeper client-protocol speaker (jute over TCP) for black-box tests.

Only what the tests need: handshake, a few opcodes, pings, notifications, closeSession.
Everything is big-endian; every frame is an int32 length + payload.
"""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from typing import List, Optional, Tuple

# opcodes
CREATE = 1
DELETE = 2
EXISTS = 3
GET_DATA = 4
SET_DATA = 5
GET_CHILDREN = 8
PING = 11
CLOSE_SESSION = -11

# xids
NOTIFICATION_XID = -1
NODE_DATA_CHANGED = 3   # WatcherEvent type; state 3 = SyncConnected
PING_XID = -2

# errors
OK = 0
UNIMPLEMENTED = -6
NONODE = -101
NODEEXISTS = -110

# flags
PERSISTENT = 0
EPHEMERAL = 1

OPEN_ACL_UNSAFE = [(31, "world", "anyone")]

STAT_FORMAT = ">qqqqiiiqiiq"   # czxid mzxid ctime mtime version cversion aversion ephemeralOwner dataLength numChildren pzxid
STAT_SIZE = struct.calcsize(STAT_FORMAT)
assert STAT_SIZE == 68


@dataclass
class Stat:
    czxid: int
    mzxid: int
    ctime: int
    mtime: int
    version: int
    cversion: int
    aversion: int
    ephemeral_owner: int
    data_length: int
    num_children: int
    pzxid: int


# ------------------------------------------------------------------------- encoding
def int32(v: int) -> bytes:
    return struct.pack(">i", v)


def int64(v: int) -> bytes:
    return struct.pack(">q", v)


def boolean(v: bool) -> bytes:
    return b"\x01" if v else b"\x00"


def ustring(s: Optional[str]) -> bytes:
    if s is None:
        return int32(-1)
    b = s.encode("utf-8")
    return int32(len(b)) + b


def buffer(b: Optional[bytes]) -> bytes:
    if b is None:
        return int32(-1)
    return int32(len(b)) + b


def acl_vector(acls) -> bytes:
    out = int32(len(acls))
    for perms, scheme, ident in acls:
        out += int32(perms) + ustring(scheme) + ustring(ident)
    return out


def frame(payload: bytes) -> bytes:
    return int32(len(payload)) + payload


def connect_request(timeout_ms: int, session_id: int = 0, passwd: bytes = b"\x00" * 16,
                    last_zxid: int = 0, read_only: Optional[bool] = False) -> bytes:
    body = int32(0) + int64(last_zxid) + int32(timeout_ms) + int64(session_id) + buffer(passwd)
    if read_only is not None:
        body += boolean(read_only)
    return body


class Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"short record: need {n} at {self.pos}, have {len(self.data)}")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b

    def int32(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def int64(self) -> int:
        return struct.unpack(">q", self.take(8))[0]

    def boolean(self) -> bool:
        return self.take(1) != b"\x00"

    def buffer(self) -> Optional[bytes]:
        n = self.int32()
        return None if n == -1 else self.take(n)

    def ustring(self) -> Optional[str]:
        b = self.buffer()
        return None if b is None else b.decode("utf-8")

    def stat(self) -> Stat:
        return Stat(*struct.unpack(STAT_FORMAT, self.take(STAT_SIZE)))

    def remaining(self) -> int:
        return len(self.data) - self.pos


# ------------------------------------------------------------------------- transport
class Closed(Exception):
    """The server closed the connection."""


def recv_exact(sock: socket.socket, n: int, deadline: float) -> bytes:
    buf = b""
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"timed out waiting for {n - len(buf)} more bytes")
        sock.settimeout(left)
        try:
            chunk = sock.recv(n - len(buf))
        except ConnectionResetError as e:
            raise Closed("connection reset") from e
        if not chunk:
            raise Closed(f"EOF after {len(buf)} of {n} bytes")
        buf += chunk
    return buf


def read_frame(sock: socket.socket, timeout: float = 10.0) -> bytes:
    deadline = time.monotonic() + timeout
    (n,) = struct.unpack(">i", recv_exact(sock, 4, deadline))
    if n < 0 or n > 16 * 1024 * 1024:
        raise ValueError(f"bad frame length {n}")
    return recv_exact(sock, n, deadline)


def wait_closed(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Read until EOF/reset; return whatever arrived.  TimeoutError if still open."""
    deadline = time.monotonic() + timeout
    got = b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"connection still open after {timeout}s (received {got[:64]!r})")
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return got
        except socket.timeout:
            continue
        if not chunk:
            return got
        got += chunk


@dataclass
class ConnectResponse:
    protocol_version: int
    timeout_ms: int
    session_id: int
    passwd: bytes
    read_only: Optional[bool]


def parse_connect_response(payload: bytes) -> ConnectResponse:
    r = Reader(payload)
    pv = r.int32()
    to = r.int32()
    sid = r.int64()
    pw = r.buffer() or b""
    ro = r.boolean() if r.remaining() > 0 else None
    return ConnectResponse(pv, to, sid, pw, ro)


@dataclass
class Reply:
    xid: int
    zxid: int
    err: int
    body: bytes


class RawSession:
    """One TCP connection speaking the client protocol."""

    def __init__(self, host: str, port: int, timeout_ms: int = 10000, session_id: int = 0,
                 passwd: bytes = b"\x00" * 16, io_timeout: float = 10.0):
        self.sock = socket.create_connection((host, port), timeout=io_timeout)
        self.io_timeout = io_timeout
        self.sock.sendall(frame(connect_request(timeout_ms, session_id, passwd)))
        self.connect_response = parse_connect_response(read_frame(self.sock, io_timeout))
        self.session_id = self.connect_response.session_id
        self.passwd = self.connect_response.passwd
        self.timeout_ms = self.connect_response.timeout_ms
        self.xid = 0
        self.notifications: List[Tuple[int, int, str]] = []   # (type, state, path)

    # -- plumbing
    def send(self, opcode: int, body: bytes = b"", xid: Optional[int] = None) -> int:
        if xid is None:
            self.xid += 1
            xid = self.xid
        self.sock.sendall(frame(int32(xid) + int32(opcode) + body))
        return xid

    def read_reply(self, timeout: Optional[float] = None) -> Reply:
        payload = read_frame(self.sock, timeout or self.io_timeout)
        r = Reader(payload)
        xid, zxid, err = r.int32(), r.int64(), r.int32()
        return Reply(xid, zxid, err, payload[r.pos:])

    def call(self, opcode: int, body: bytes = b"") -> Reply:
        xid = self.send(opcode, body)
        deadline = time.monotonic() + self.io_timeout
        while True:
            rep = self.read_reply(max(0.01, deadline - time.monotonic()))
            if rep.xid == NOTIFICATION_XID:
                r = Reader(rep.body)
                self.notifications.append((r.int32(), r.int32(), r.ustring()))
                continue
            if rep.xid == PING_XID:
                continue
            assert rep.xid == xid, f"reply xid {rep.xid} != request xid {xid}"
            return rep

    # -- operations
    def create(self, path: str, data: bytes = b"", flags: int = PERSISTENT, acl=None) -> Reply:
        body = ustring(path) + buffer(data) + acl_vector(acl or OPEN_ACL_UNSAFE) + int32(flags)
        return self.call(CREATE, body)

    def get_data(self, path: str, watch: bool = False) -> Reply:
        return self.call(GET_DATA, ustring(path) + boolean(watch))

    def exists(self, path: str, watch: bool = False) -> Reply:
        return self.call(EXISTS, ustring(path) + boolean(watch))

    def ping(self) -> Reply:
        self.send(PING, xid=PING_XID)
        while True:
            rep = self.read_reply()
            if rep.xid == PING_XID:
                return rep

    def close_session(self) -> None:
        try:
            self.call(CLOSE_SESSION)
        finally:
            self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass
